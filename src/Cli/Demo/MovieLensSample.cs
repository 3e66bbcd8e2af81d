using System.Globalization;
using System.Text;

namespace EventMlOps.Cli.Demo;

/// <summary>A small MovieLens-shaped ratings file (<c>u.data</c>: user, item, rating, timestamp, tab-separated).
/// Seeded, so every demo writes the same bytes and the dataset keeps one content address (sha256).</summary>
public static class MovieLensSample
{
    public static int Write(string path, int users = 300, int items = 400, int ratings = 4000, int seed = 42)
    {
        var random = new Random(seed);
        var seen = new HashSet<(int, int)>();
        var text = new StringBuilder();
        var time = 874_965_758L; // MovieLens 100k's first timestamp
        while (seen.Count < ratings)
        {
            // Popular items and active users are rarer than the rest, as in the real data (a rough power law).
            var user = 1 + (int)(users * Math.Pow(random.NextDouble(), 1.5));
            var item = 1 + (int)(items * Math.Pow(random.NextDouble(), 2.0));
            if (!seen.Add((user, item))) continue;
            var rating = Math.Clamp((int)Math.Round(3.5 + random.NextDouble() * 2.4 - 1.2 - (item % 7 == 0 ? 1 : 0)), 1, 5);
            time += random.Next(1, 600);
            text.Append(CultureInfo.InvariantCulture, $"{user}\t{item}\t{rating}\t{time}\n");
        }
        Directory.CreateDirectory(Path.GetDirectoryName(Path.GetFullPath(path))!);
        File.WriteAllText(path, text.ToString());
        return ratings;
    }
}
