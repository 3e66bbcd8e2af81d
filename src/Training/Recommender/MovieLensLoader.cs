using System.Globalization;
using EventMlOps.Training.Running;

namespace EventMlOps.Training.Recommender;

/// <summary>Reads MovieLens ratings as implicit feedback (every rating is an interaction): <c>u.data</c>
/// (<c>user TAB item TAB rating TAB timestamp</c>, MovieLens 100K), <c>ratings.dat</c>
/// (<c>UserID::MovieID::Rating::Timestamp</c>, MovieLens 1M/10M) and <c>ratings.csv</c>
/// (<c>userId,movieId,rating,timestamp</c> with a header, MovieLens 20M/25M/latest). The format is recognised from
/// the first non-empty line. A malformed line is a <see cref="UsageException"/> naming the file and line number.</summary>
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
            if (fields.Length != 4
                || !long.TryParse(fields[0].Trim(), NumberStyles.Integer, CultureInfo.InvariantCulture, out var user)
                || !long.TryParse(fields[1].Trim(), NumberStyles.Integer, CultureInfo.InvariantCulture, out var item)
                || !double.TryParse(fields[2].Trim(), NumberStyles.Float, CultureInfo.InvariantCulture, out _)
                || !long.TryParse(fields[3].Trim(), NumberStyles.Integer, CultureInfo.InvariantCulture, out var time))
                throw new UsageException($"{name}: line {lineNumber}: malformed {Describe(format.Value)} line (expected whole-number user and item, a numeric rating and a timestamp)");
            users.Add(user);
            items.Add(item);
            times.Add(time);
        }
        if (users.Count == 0) throw new UsageException($"{name}: no ratings");
        return Interactions.FromRaw(users.ToArray(), items.ToArray(), times.ToArray());
    }

    private static string Describe(Format format) => format switch
    {
        Format.RatingsDat => "ratings.dat (user::item::rating::timestamp)",
        Format.UData => "u.data (user<TAB>item<TAB>rating<TAB>timestamp)",
        _ => "ratings.csv (userId,movieId,rating,timestamp)",
    };

}
