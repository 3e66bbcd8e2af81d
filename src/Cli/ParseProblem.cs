using System.CommandLine;
using System.CommandLine.Parsing;

namespace EventMlOps.Cli;

/// <summary>A parse error in plain words: an unknown verb or option with the closest known name ("did you mean"), a value
/// that is not of its option's kind without .NET type names; otherwise System.CommandLine's own first message.</summary>
public static class ParseProblem
{
    public static string Describe(ParseResult parse, string verbs)
    {
        var command = parse.CommandResult.Command;
        if (parse.UnmatchedTokens.FirstOrDefault() is { } unknown)
        {
            var option = unknown.StartsWith('-');
            var known = option
                ? Chain(parse.CommandResult).SelectMany(c => c.Options.Where(o => c == command || o.Recursive)).SelectMany(o => o.Aliases.Prepend(o.Name))
                : command.Subcommands.Where(c => !c.Hidden).SelectMany(c => c.Aliases.Prepend(c.Name));
            var name = option ? unknown.Split('=')[0] : unknown;
            var closest = known.Distinct().Select(k => (Name: k, Distance: Distance(name, k))).Where(k => k.Distance <= Math.Max(2, name.Length / 3))
                .OrderBy(k => k.Distance).ThenBy(k => k.Name, StringComparer.Ordinal).Select(k => k.Name).FirstOrDefault();
            var what = option ? "an option" : command.Subcommands.Count > 0 ? "a command" : "an argument";
            return $"'{Clip(unknown)}' is not {what} of emo{verbs}" + (closest is null ? "" : $"; did you mean '{closest}'?");
        }
        var error = parse.Errors[0];
        var (symbol, type, value) = error.SymbolResult switch
        {
            OptionResult o => (o.Option.Name, o.Option.ValueType, o.Tokens.FirstOrDefault()?.Value),
            ArgumentResult a => ($"<{a.Argument.Name}>", a.Argument.ValueType, a.Tokens.FirstOrDefault()?.Value),
            _ => (null, null, null),
        };
        if (symbol is not null && value is not null && error.Message.StartsWith("Cannot parse argument", StringComparison.Ordinal))
            return $"{symbol}: '{Clip(value)}' is not {Kind(Nullable.GetUnderlyingType(type!) ?? type!)}";
        if (symbol is not null && value is not null && error.Message.Contains("not recognized. Must be one of:", StringComparison.Ordinal))
            return $"{symbol}: '{Clip(value)}' is not one of " + string.Join(", ", error.Message.Split('\n').Skip(1).Select(l => l.Trim().Trim('\'')).Where(l => l.Length > 0));
        if (error.Message.StartsWith("Required command was not provided", StringComparison.Ordinal))
            return $"emo{verbs} needs a command: {string.Join(", ", command.Subcommands.Where(c => !c.Hidden).Select(c => c.Name))}";
        if (error.Message.StartsWith("Required argument missing", StringComparison.Ordinal))
            return error.SymbolResult is OptionResult missing
                ? $"{missing.Option.Name} needs a value ({Kind(Nullable.GetUnderlyingType(missing.Option.ValueType) ?? missing.Option.ValueType)})"
                : $"emo{verbs} needs {string.Join(" ", command.Arguments.Select(a => $"<{a.Name}>"))}";
        return error.Message;
    }

    private static IEnumerable<Command> Chain(SymbolResult? result)
    {
        for (; result is not null; result = result.Parent)
            if (result is CommandResult c) yield return c.Command;
    }

    private static string Kind(Type type) =>
        type == typeof(int) || type == typeof(long) ? "a whole number"
        : type == typeof(double) || type == typeof(float) ? "a number"
        : type == typeof(Guid) ? "an id (a GUID, e.g. 3f2b9c1e-…, with or without dashes)"
        : type == typeof(DateTimeOffset) || type == typeof(DateTime) ? "a time (ISO 8601, e.g. 2026-12-05T10:00:00Z)"
        : type == typeof(bool) ? "true or false"
        : type.IsEnum ? "one of " + string.Join(", ", Enum.GetNames(type).Select(n => n.ToLowerInvariant()))
        : type == typeof(string) ? "text"
        : type == typeof(FileInfo) || type == typeof(DirectoryInfo) ? "a path"
        : "a valid value";

    private static string Clip(string text) => text.Length > 40 ? text[..40] + "…" : text;

    /// <summary>Edit distance (insertions, deletions, substitutions, adjacent swaps), case aside.</summary>
    private static int Distance(string a, string b)
    {
        (a, b) = (a.ToLowerInvariant(), b.ToLowerInvariant());
        var d = new int[a.Length + 1, b.Length + 1];
        for (var i = 0; i <= a.Length; i++) d[i, 0] = i;
        for (var j = 0; j <= b.Length; j++) d[0, j] = j;
        for (var i = 1; i <= a.Length; i++)
            for (var j = 1; j <= b.Length; j++)
            {
                d[i, j] = Math.Min(Math.Min(d[i - 1, j] + 1, d[i, j - 1] + 1), d[i - 1, j - 1] + (a[i - 1] == b[j - 1] ? 0 : 1));
                if (i > 1 && j > 1 && a[i - 1] == b[j - 2] && a[i - 2] == b[j - 1]) d[i, j] = Math.Min(d[i, j], d[i - 2, j - 2] + 1);
            }
        return d[a.Length, b.Length];
    }
}
