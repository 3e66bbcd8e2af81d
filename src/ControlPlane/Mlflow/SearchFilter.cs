using System.Globalization;
using System.Text;
using System.Text.RegularExpressions;
using EventMlOps.ControlPlane.Commanding;

namespace EventMlOps.ControlPlane.Mlflow;

/// <summary>One comparison of MLflow's search grammar: <c>metrics.rmse &lt; 0.8</c>, <c>params.lr = '0.01'</c>,
/// <c>tags.`mlflow.runName` LIKE 'nightly%'</c>, <c>attributes.status IN ('FINISHED', 'FAILED')</c>. <paramref name="Value"/>
/// is a double, a string, a string list (IN) or the compiled pattern of LIKE and ILIKE.</summary>
public sealed record Clause(string Entity, string Key, string Op, object Value);

/// <summary>MLflow's filter and order-by grammar for <c>runs/search</c> and <c>experiments/search</c> (comparisons joined
/// by AND; metrics and times compare as numbers, the rest as text with =, !=, LIKE, ILIKE, IN, NOT IN), its page tokens,
/// evaluated on rows that a resolver reads a value from (null: the row has no such value, and matches no comparison).</summary>
public static partial class SearchFilter
{
    public const string Metrics = "metrics", Params = "params", Tags = "tags", Attributes = "attributes";

    private static readonly string[] NumberOps = ["=", "!=", "<", "<=", ">", ">="];
    private static readonly string[] TextOps = ["=", "!=", "LIKE", "ILIKE", "IN", "NOT IN"];

    public static IReadOnlyList<Clause> Parse(string? filter, Func<string, string, bool> isNumeric)
    {
        if (string.IsNullOrWhiteSpace(filter)) return [];
        if (filter.Length > 4096) throw new InvalidField("filter", "is longer than 4096 characters");
        var tokens = Tokens(filter);
        var clauses = new List<Clause>();
        var i = 0;
        string Next(string expected) => i < tokens.Count ? tokens[i++].Text : throw Error($"the filter ends where {expected} was expected");
        while (true)
        {
            var (entity, key) = Identifier(Next("an identifier"), tokens, ref i);
            var op = Next("an operator").ToUpperInvariant();
            if (op == "NOT") op = "NOT " + Next("IN").ToUpperInvariant();
            var numeric = isNumeric(entity, key);
            if (!(numeric ? NumberOps : TextOps).Contains(op))
                throw Error($"{entity}.{key} compares with {string.Join(", ", numeric ? NumberOps : TextOps)}, not {Guard.Shown(op)}");
            object value;
            if (op is "IN" or "NOT IN")
            {
                if (Next("(") != "(") throw Error($"{op} takes a list: ('a', 'b')");
                var list = new List<string>();
                do list.Add(Text(tokens, ref i)); while (i < tokens.Count && tokens[i].Text == "," && ++i > 0);
                if (Next(")") != ")") throw Error("the IN list is not closed by ')'");
                value = list;
            }
            else if (numeric)
                value = i < tokens.Count && tokens[i].Kind == 'n' ? double.Parse(tokens[i++].Text, CultureInfo.InvariantCulture)
                    : throw Error($"{entity}.{key} compares with a number");
            else
                value = op is "LIKE" or "ILIKE" ? Like(Text(tokens, ref i), op == "ILIKE") : Text(tokens, ref i);
            clauses.Add(new Clause(entity, key, op, value));
            if (i == tokens.Count) return clauses;
            if (!tokens[i++].Text.Equals("AND", StringComparison.OrdinalIgnoreCase))
                throw Error($"comparisons are joined by AND (MLflow has no OR); found {Guard.Shown(tokens[i - 1].Text)}");
        }
    }

    public static bool Matches(IReadOnlyList<Clause> clauses, Func<string, string, object?> resolve) => clauses.All(c => resolve(c.Entity, c.Key) switch
    {
        double d when c.Value is double v => c.Op switch
        {
            "=" => d == v, "!=" => d != v, "<" => d < v, "<=" => d <= v, ">" => d > v, _ => d >= v,
        },
        string s when c.Value is string v => c.Op == "=" ? s == v : s != v,
        string s when c.Value is Regex like => like.IsMatch(s),
        string s when c.Value is List<string> list => list.Contains(s) == (c.Op == "IN"),
        _ => false,
    });

    /// <summary><c>["metrics.rmse DESC", "attributes.start_time"]</c> → (entity, key, descending).</summary>
    public static IReadOnlyList<(string Entity, string Key, bool Descending)> Order(IReadOnlyList<string>? orderBy)
    {
        var result = new List<(string, string, bool)>();
        foreach (var clause in orderBy ?? [])
        {
            var tokens = Tokens(clause ?? "");
            var i = 0;
            if (tokens.Count == 0) throw new InvalidField("order_by", "holds an empty clause");
            var (entity, key) = Identifier(tokens[i++].Text, tokens, ref i);
            var descending = i < tokens.Count && tokens[i].Text.Equals("DESC", StringComparison.OrdinalIgnoreCase);
            if (i < tokens.Count && (descending || tokens[i].Text.Equals("ASC", StringComparison.OrdinalIgnoreCase))) i++;
            if (i != tokens.Count) throw new InvalidField("order_by", $"{Guard.Shown(clause)} is not '<entity>.<key> [ASC|DESC]'");
            result.Add((entity, key, descending));
        }
        return result;
    }

    /// <summary>Sorted by each order in turn, rows without the value last, then by <paramref name="tieBreak"/>.</summary>
    public static List<T> Sort<T>(IEnumerable<T> rows, IReadOnlyList<(string Entity, string Key, bool Descending)> orders,
        Func<T, string, string, object?> resolve, Func<T, string> tieBreak)
    {
        var list = rows.ToList();
        list.Sort((a, b) =>
        {
            foreach (var (entity, key, descending) in orders)
            {
                var (x, y) = (resolve(a, entity, key), resolve(b, entity, key));
                if (x is null || y is null)
                {
                    if (x is null != y is null) return x is null ? 1 : -1;
                    continue;
                }
                var c = x is double dx && y is double dy ? dx.CompareTo(dy) : string.CompareOrdinal(x.ToString(), y.ToString());
                if (c != 0) return descending ? -c : c;
            }
            return string.CompareOrdinal(tieBreak(a), tieBreak(b));
        });
        return list;
    }

    /// <summary>A page of <paramref name="rows"/> from an opaque token (the offset), and the next page's token.</summary>
    public static (List<T> Page, string? Next) Page<T>(IReadOnlyList<T> rows, int? maxResults, string? pageToken, int limit)
    {
        var size = maxResults ?? limit;
        if (size < 1 || size > limit) throw new InvalidField("max_results", $"must be between 1 and {limit}");
        var offset = string.IsNullOrEmpty(pageToken) ? 0 : Offset(pageToken) ?? throw new InvalidField("page_token", "is not a page token this server gave");
        var page = rows.Skip(offset).Take(size).ToList();
        var next = (long)offset + size;
        return (page, next < rows.Count ? Convert.ToBase64String(Encoding.UTF8.GetBytes(next.ToString(CultureInfo.InvariantCulture))) : null);
    }

    /// <summary>The offset a page token holds (its base64 digits), or null for anything else, one too large included.</summary>
    private static int? Offset(string token)
    {
        var bytes = new byte[48];
        return token.Length <= 64 && Convert.TryFromBase64String(token, bytes, out var n)
            && int.TryParse(Encoding.UTF8.GetString(bytes, 0, n), NumberStyles.None, CultureInfo.InvariantCulture, out var offset)
                ? offset
                : null;
    }

    private static (string Entity, string Key) Identifier(string word, List<(char Kind, string Text)> tokens, ref int i)
    {
        var dot = word.IndexOf('.');
        var prefix = dot < 0 ? "" : word[..dot].ToLowerInvariant();
        var entity = prefix switch
        {
            "metric" or "metrics" => Metrics,
            "param" or "params" or "parameter" or "parameters" => Params,
            "tag" or "tags" => Tags,
            "attribute" or "attributes" or "attr" or "run" => Attributes,
            _ => null,
        };
        if (entity is null) return (Attributes, word); // experiments: `name = 'x'`
        var key = word[(dot + 1)..];
        if (key.Length == 0)
            key = i < tokens.Count && tokens[i].Kind is 's' or 'b' ? tokens[i++].Text : throw Error($"{Guard.Shown(word)} names no key");
        return (entity, key);
    }

    private static string Text(List<(char Kind, string Text)> tokens, ref int i) =>
        i < tokens.Count && tokens[i].Kind == 's' ? tokens[i++].Text : throw Error("a quoted string was expected ('value')");

    /// <summary>Words, numbers ('n'), quoted strings ('s'), backticked keys ('b') and punctuation.</summary>
    private static List<(char Kind, string Text)> Tokens(string text)
    {
        var tokens = new List<(char, string)>();
        foreach (Match m in Token().Matches(text))
        {
            if (m.Groups["bad"].Success) throw Error($"unexpected character at position {m.Index + 1}");
            if (m.Groups["s1"].Success) tokens.Add(('s', m.Groups["s1"].Value));
            else if (m.Groups["s2"].Success) tokens.Add(('s', m.Groups["s2"].Value));
            else if (m.Groups["b"].Success) tokens.Add(('b', m.Groups["b"].Value));
            else if (m.Groups["n"].Success) tokens.Add(('n', m.Value));
            else if (!string.IsNullOrWhiteSpace(m.Value)) tokens.Add(('w', m.Value));
        }
        return tokens;
    }

    /// <summary>A LIKE pattern as a regex, compiled once per search; without backtracking, so that no pattern (<c>%%%…%b</c>)
    /// makes a long value cost more than linear time.</summary>
    private static Regex Like(string pattern, bool ignoreCase)
    {
        if (pattern.Length > 256) throw Error("a LIKE pattern is at most 256 characters");
        return new Regex("^" + Regex.Escape(pattern).Replace("%", ".*").Replace("_", ".") + "\\z",
            RegexOptions.Singleline | RegexOptions.NonBacktracking | (ignoreCase ? RegexOptions.IgnoreCase : RegexOptions.None));
    }

    private static InvalidField Error(string reason) => new("filter", reason);

    [GeneratedRegex("""\s+|'(?<s1>[^']*)'|"(?<s2>[^"]*)"|`(?<b>[^`]*)`|(?<n>-?\d+(\.\d+)?([eE][-+]?\d+)?)(?![\w.])|!=|<=|>=|[=<>(),]|[A-Za-z_][\w.\-@/:]*|(?<bad>.)""")]
    private static partial Regex Token();
}
