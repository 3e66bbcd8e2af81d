using System.Globalization;

namespace EventMlOps.Serving.Tests.Testing;

/// <summary>Sensor readings as <c>emo-train generate sensors</c> writes them (two machines, normal readings), for
/// <c>emo stream send</c>.</summary>
public static class SensorReadingsCsv
{
    /// <summary>Writes <paramref name="days"/> of readings to <paramref name="csv"/>; with <paramref name="inject"/>, 30 minutes
    /// of machine-1 far off its normal readings (every feature +40) in the middle of its timeline, which begin at the returned
    /// time. Returns how many readings it holds.</summary>
    public static async Task<(long Total, DateTimeOffset AnomalyStart)> GenerateAsync(string csv, double days, bool inject)
    {
        await TrainedModels.RunTrainerAsync("generate", "sensors", "--out", csv, "--machines", "2", "--days", days.ToString(CultureInfo.InvariantCulture),
            "--normal-fraction", "1", "--seed", "7");
        var lines = await File.ReadAllLinesAsync(csv);
        var header = lines[0].Split(',');
        var (machine, time) = (Array.IndexOf(header, "machine"), Array.IndexOf(header, "timestamp"));
        var anomalyStart = DateTimeOffset.MinValue;
        if (inject)
        {
            var rows = Enumerable.Range(1, lines.Length - 1).Where(i => lines[i].Split(',')[machine] == "machine-1").ToList();
            var span = rows.Skip(rows.Count / 2).Take(30).ToList();
            anomalyStart = DateTimeOffset.Parse(lines[span[0]].Split(',')[time], CultureInfo.InvariantCulture);
            foreach (var i in span)
                lines[i] = string.Join(',', lines[i].Split(',').Select((f, c) => c == machine || c == time || header[c] == "label"
                    ? f : (double.Parse(f, CultureInfo.InvariantCulture) + 40).ToString(CultureInfo.InvariantCulture)));
            await File.WriteAllLinesAsync(csv, lines);
        }
        return (lines.Length - 1, anomalyStart);
    }
}
