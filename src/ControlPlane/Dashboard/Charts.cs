using System.Globalization;
using EventMlOps.Contracts.Views;

namespace EventMlOps.ControlPlane.Dashboard;

/// <summary>Geometry of the server-rendered SVG charts: pure functions from the views' numbers to coordinates and path
/// data (the components draw them; Razor encodes every text).</summary>
public static class Charts
{
    /// <summary>Okabe–Ito colours (told apart with colour-blindness too), each with 4.5:1 contrast or more on white.</summary>
    private static readonly string[] Palette = ["#0072b2", "#b35806", "#007a5a", "#a4457f", "#1f5f8b", "#8a5a00", "#333333"];

    public static string Color(int version) => Palette[Math.Abs(version - 1) % Palette.Length];

    /// <summary>A number as SVG writes it.</summary>
    public static string F(double value) => double.IsFinite(value) ? value.ToString("0.##", CultureInfo.InvariantCulture) : "0";

    /// <summary>A plotting area: x maps <see cref="From"/>..<see cref="To"/> (or 0..1 when they are equal), y maps
    /// 0..<see cref="Max"/> bottom-up.</summary>
    public sealed record Frame(double Left, double Top, double Width, double Height, double From, double To, double Max)
    {
        public double X(double value) => Left + (To > From ? (value - From) / (To - From) : 0) * Width;

        public double Y(double value) => Top + Height - (Max > 0 ? Math.Clamp(value / Max, 0, 1) : 0) * Height;

        public double Bottom => Top + Height;

        public double Right => Left + Width;
    }

    public sealed record Band(int Version, string Path);

    /// <summary>Each version's share of traffic as a stepped band stacked on the versions below it: a point's split holds
    /// from its time until the next point's (the last one's until <paramref name="end"/>).</summary>
    public static IReadOnlyList<Band> TrafficBands(IReadOnlyList<TrafficPoint> points, DateTimeOffset end, Frame frame)
    {
        if (points.Count == 0) return [];
        var versions = points.SelectMany(p => p.Weights.Select(w => w.Version)).Distinct().Order().ToList();
        var xs = points.Select(p => frame.X(Seconds(p.At))).Append(frame.X(Seconds(end))).ToList();
        double Weight(TrafficPoint p, int version) => p.Weights.FirstOrDefault(w => w.Version == version)?.Weight ?? 0;
        double Below(TrafficPoint p, int version) => versions.TakeWhile(v => v != version).Sum(v => Weight(p, v));
        var bands = new List<Band>();
        foreach (var version in versions)
        {
            var top = points.Select(p => frame.Y(Below(p, version) + Weight(p, version))).ToList();
            var bottom = points.Select(p => frame.Y(Below(p, version))).ToList();
            var path = new System.Text.StringBuilder($"M{F(xs[0])} {F(top[0])}");
            for (var i = 0; i < points.Count; i++)
                path.Append(i == 0 ? "" : $" V{F(top[i])}").Append($" H{F(xs[i + 1])}");
            for (var i = points.Count - 1; i >= 0; i--)
                path.Append($" V{F(bottom[i])} H{F(xs[i])}");
            bands.Add(new Band(version, path.Append(" Z").ToString()));
        }
        return bands;
    }

    /// <summary>A polyline through the points, as SVG path data.</summary>
    public static string Line(IEnumerable<(double X, double Y)> points) =>
        string.Join(" ", points.Select((p, i) => $"{(i == 0 ? "M" : "L")}{F(p.X)} {F(p.Y)}"));

    /// <summary>A value as a person reads it: four decimals, or three significant digits where that would show nothing.</summary>
    public static string Value(double value) =>
        value == 0 || Math.Abs(value) >= 1e-4 ? value.ToString("0.####", CultureInfo.InvariantCulture) : value.ToString("G3", CultureInfo.InvariantCulture);

    /// <summary>Seconds since the Unix epoch: time as a chart's x.</summary>
    public static double Seconds(DateTimeOffset at) => at.ToUnixTimeMilliseconds() / 1000.0;

    /// <summary>A round maximum for a y axis holding every value (at least <paramref name="floor"/>).</summary>
    public static double NiceMax(IEnumerable<double> values, double floor)
    {
        var max = Math.Max(floor, values.Where(double.IsFinite).DefaultIfEmpty(0).Max());
        var magnitude = Math.Pow(10, Math.Floor(Math.Log10(max)));
        return new[] { 1, 2, 2.5, 5, 10 }.Select(s => s * magnitude).First(m => m >= max);
    }

    /// <summary>A time as the dashboard shows it (UTC, as the CLI does).</summary>
    public static string Time(DateTimeOffset at) => at.UtcDateTime.ToString("yyyy-MM-dd HH:mm:ss'Z'", CultureInfo.InvariantCulture);

    /// <summary>A time on an axis: the clock within a day, the date beyond.</summary>
    public static string Tick(DateTimeOffset at, TimeSpan span) =>
        at.UtcDateTime.ToString(span < TimeSpan.FromDays(1) ? "HH:mm:ss" : "MM-dd HH:mm", CultureInfo.InvariantCulture);

    /// <summary>The first <paramref name="length"/> characters of a long value (an id, a digest), marked as shortened.</summary>
    public static string Short(string? value, int length = 12) => value is null ? "" : value.Length <= length ? value : value[..length] + "…";
}
