using System.Globalization;
using EventMlOps.Training.Running;

namespace EventMlOps.Training.Recommender;

/// <summary>Reads MovieLens ratings as implicit feedback (every rating is an interaction): <c>u.data</c>
/// (<c>user TAB item TAB rating TAB timestamp</c>, MovieLens 100K), <c>ratings.dat</c>
/// (<c>UserID::MovieID::Rating::Timestamp</c>, MovieLens 1M/10M) and <c>ratings.csv</c>
/// (<c>userId,movieId,rating,timestamp</c> with a header, MovieLens 20M/25M/latest). The format is recognised from
/// the first non-empty line. A malformed line is a <see cref="UsageException"/> naming the file, line and field and never
/// quoting them: any file may be given as data, and the message reaches a run's failure reason.</summary>
public static class MovieLensLoader
{
    public enum Format { UData, RatingsDat, RatingsCsv }

    public static Interactions Load(string path)
    {
        using var reader = new StreamReader(path);
        return Load(reader, path);
    }

    public static Interactions Load(TextReader reader, string name)
    {
        var users = new List<long>();
        var items = new List<long>();
        var times = new List<long>();
        Format? format = null;
        var lineNumber = 0;
        while (reader.ReadLine() is { } line)
        {
            lineNumber++;
            if (line.Length == 0 || string.IsNullOrWhiteSpace(line)) continue;
            if (format is null)
            {
                format = line.Contains("::", StringComparison.Ordinal) ? Format.RatingsDat
                    : line.Contains('\t') ? Format.UData
                    : line.Contains(',') ? Format.RatingsCsv
                    : throw new UsageException($"{name}: line {lineNumber}: not MovieLens ratings (expected u.data 'user<TAB>item<TAB>rating<TAB>timestamp', ratings.dat 'user::item::rating::timestamp' or ratings.csv)");
                if (format == Format.RatingsCsv && line.StartsWith("userId", StringComparison.OrdinalIgnoreCase)) continue; // header
            }
            var fields = format switch
            {
                Format.RatingsDat => line.Split("::"),
                Format.UData => line.Split('\t'),
                _ => line.Split(','),
            };
            if (fields.Length != 4)
                throw new UsageException($"{name}: line {lineNumber}: expected 4 {Describe(format.Value)} fields ({string.Join(", ", Fields)}), found {fields.Length}");
            var user = Whole(fields, 0, name, lineNumber);
            var item = Whole(fields, 1, name, lineNumber);
            if (!double.TryParse(fields[2].Trim(), NumberStyles.Float, CultureInfo.InvariantCulture, out _))
                throw new UsageException(Malformed(name, lineNumber, 2, "a number"));
            var time = Whole(fields, 3, name, lineNumber);
            users.Add(user);
            items.Add(item);
            times.Add(time);
        }
        if (users.Count == 0) throw new UsageException($"{name}: no ratings");
        return Interactions.FromRaw(users.ToArray(), items.ToArray(), times.ToArray());
    }

    private static readonly string[] Fields = ["user", "item", "rating", "timestamp"];

    private static long Whole(string[] fields, int field, string name, int line) =>
        long.TryParse(fields[field].Trim(), NumberStyles.Integer, CultureInfo.InvariantCulture, out var value)
            ? value
            : throw new UsageException(Malformed(name, line, field, "a whole number"));

    // The field by number and role, never its text.
    private static string Malformed(string name, int line, int field, string expected) => $"{name}: line {line}: field {field + 1} ({Fields[field]}) is not {expected}";

    private static string Describe(Format format) => format switch
    {
        Format.RatingsDat => "'::'-separated",
        Format.UData => "tab-separated",
        _ => "comma-separated",
    };
}
