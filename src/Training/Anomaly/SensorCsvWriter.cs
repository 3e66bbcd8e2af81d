using System.Globalization;
using EventMlOps.Contracts.Training;
using EventMlOps.Training.Running;

namespace EventMlOps.Training.Anomaly;

/// <summary><c>emo-train generate sensors --out readings.csv [--machines 6 --days 28 --normal-fraction 0.8 --seed 42
/// --recalibration 0 --recalibrated-from 0 --fault-gap-hours 3 --outages 0]</c>:
/// the generator's labelled readings as the CSV that <see cref="SensorCsvLoader"/> reads (<c>machine,timestamp,
/// features…,label</c>; ISO 8601 UTC timestamps; the label empty for normal readings) — data to train on, or a stream
/// with injected anomalies to score against a served model.</summary>
public static class SensorCsvWriter
{
    public const string Synopsis = "sensors --out <file.csv> [--machines N] [--days D] [--normal-fraction F] [--seed S] [--recalibration C] [--recalibrated-from F] [--fault-gap-hours H] [--outages N]";

    public static readonly IReadOnlyList<OptionSpec> Options =
    [
        new("out", "the CSV file to write"),
        OptionSpec.Number(new TrainerParameter("machines", 1, 10_000, Whole: true), "machines (default 6)"),
        OptionSpec.Number(new TrainerParameter("days", 0.1, 10_000), "days of one-minute readings per machine (default 28)"),
        OptionSpec.Number(new TrainerParameter("normal_fraction", 0, 1), "share of each timeline before the first anomaly (default 0.8)"),
        OptionSpec.Hyperparameter(AnomalyTrainer.Name, "seed", "random seed (default 42)"),
        OptionSpec.Hyperparameter(AnomalyTrainer.Name, "recalibration", "°C every temperature sensor reads more after its recalibration (default 0)"),
        OptionSpec.Number(new TrainerParameter("recalibrated_from", 0, 1), "share of each timeline before the recalibration (default 0)"),
        OptionSpec.Number(new TrainerParameter("fault_gap_hours", 0, 10_000), "least normal operation between two faults, hours (default 3; up to 10 h more are drawn)"),
        OptionSpec.Number(new TrainerParameter("outages", 0, 1000, Whole: true), "per machine, stretches without readings (half 1–10 min, half 2–48 h), each followed by a duplicate (default 0)"),
    ];

    public static SensorGeneratorOptions Read(CommandLine line) =>
        new(line.Int("machines", 6), line.Double("days", 28), line.Double("normal-fraction", 0.8), line.Int("seed", 42),
            line.Double("recalibration", 0), line.Double("recalibrated-from", 0), line.Double("fault-gap-hours", 3), line.Int("outages", 0));

    public static void Write(SensorData data, TextWriter csv)
    {
        csv.WriteLine(string.Join(',', ["machine", "timestamp", .. data.Features, "label"]));
        var features = data.Features.Length;
        foreach (var m in data.Machines)
            for (var t = 0; t < m.Length; t++)
            {
                csv.Write(m.Machine);
                csv.Write(',');
                csv.Write(DateTimeOffset.FromUnixTimeMilliseconds(m.Timestamps[t]).ToString("yyyy-MM-ddTHH:mm:ssZ", CultureInfo.InvariantCulture));
                for (var f = 0; f < features; f++)
                {
                    csv.Write(',');
                    csv.Write(m.Values[t * features + f].ToString("R", CultureInfo.InvariantCulture));
                }
                csv.Write(',');
                csv.WriteLine(m.Labels?[t]);
            }
    }
}
