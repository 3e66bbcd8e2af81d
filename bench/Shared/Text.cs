using System.Globalization;
using System.Runtime.InteropServices;

namespace EventMlOps.Bench;

/// <summary>How the benchmarks print: aligned tables, numbers, and the machine they ran on.</summary>
public static class Text
{
    public static void Table(TextWriter w, string[] headers, IEnumerable<string[]> rows)
    {
        var all = rows.ToList();
        var widths = headers.Select((h, i) => Math.Max(h.Length, all.Count == 0 ? 0 : all.Max(r => r[i].Length))).ToArray();
        // Text columns (the first ones, whose values do not start with a digit) align left, numbers right.
        var left = headers.Select((_, i) => all.All(r => r[i].Length == 0 || !char.IsDigit(r[i][0]))).ToArray();
        string Line(string[] cells) => "  " + string.Join("  ", cells.Select((c, i) => left[i] ? c.PadRight(widths[i]) : c.PadLeft(widths[i]))).TrimEnd();
        w.WriteLine(Line(headers));
        w.WriteLine("  " + string.Join("  ", widths.Select(n => new string('-', n))));
        foreach (var row in all) w.WriteLine(Line(row));
    }

    public static string N(double value, int decimals = 2) =>
        double.IsFinite(value) ? value.ToString("N" + decimals, CultureInfo.InvariantCulture) : "-";

    /// <summary>Cores, CPU model, memory, OS and runtime: what a reader needs to compare numbers across machines.</summary>
    public static string Machine() =>
        $"{Environment.ProcessorCount} cores ({CpuModel()}), {GC.GetGCMemoryInfo().TotalAvailableMemoryBytes / (1 << 30)} GiB, " +
        $"{RuntimeInformation.OSDescription}, {RuntimeInformation.FrameworkDescription}";

    private static string CpuModel()
    {
        try
        {
            return File.ReadLines("/proc/cpuinfo").FirstOrDefault(l => l.StartsWith("model name", StringComparison.Ordinal))?.Split(':', 2)[1].Trim() ?? "cpu";
        }
        catch (IOException) { return "cpu"; }
    }
}
