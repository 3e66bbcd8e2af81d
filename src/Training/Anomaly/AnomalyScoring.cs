using System.Globalization;
using EventMlOps.Models;
using EventMlOps.Training.Running;
using Microsoft.ML.OnnxRuntime;
using Keys = EventMlOps.Models.ModelMetadata;

namespace EventMlOps.Training.Anomaly;

/// <summary><c>emo-train anomaly score --model model.onnx --data readings.csv --out scores.csv [--cadence 60s]</c>: a trained
/// detector over a CSV of readings, offline — placed in event time and windowed as in training (the model's own sampling
/// interval unless <c>--cadence</c>), every window scored by the ONNX model in ONNX Runtime (what emo-serve runs), and
/// written as the trainer writes its test part's <c>scores.csv</c> (without the z-score columns: a z-score needs a
/// validation part to choose its threshold on). With labels in the data, the run also says what it detected.</summary>
public static class AnomalyScoring
{
    public const string Synopsis = "--model <model.onnx> --data <readings.csv> --out <scores.csv> [--cadence 60s] [--raise-after 3] [--clear-after 3]";

    private const int Batch = 4096;

    public static readonly IReadOnlyList<OptionSpec> Options =
    [
        new("model", "the detector, as emo-train anomaly wrote it (model.onnx)"),
        new("data", "the readings: CSV as for training (timestamp, optional machine and label, the model's features)"),
        new("out", "the scores.csv to write"),
        new("cadence", "the sampling interval to place readings at, e.g. 60s (default: the model's)"),
        .. AnomalyTrainer.AlarmOptions,
    ];

    public static void Run(CommandLine line, TextWriter output)
    {
        var (modelPath, dataPath, outPath) = (Required(line, "model", "<model.onnx>"), Required(line, "data", "<readings.csv>"), Required(line, "out", "<scores.csv>"));
        using var session = Open(modelPath);
        var meta = session.ModelMetadata.CustomMetadataMap;
        if (meta.GetValueOrDefault(Keys.ModelKind) != Keys.Anomaly)
            throw new UsageException($"{modelPath} is not an anomaly detector trained by emo-train (its {Keys.ModelKind} is not '{Keys.Anomaly}')");
        var inv = CultureInfo.InvariantCulture;
        string Meta(string key) => meta.GetValueOrDefault(key) is { Length: > 0 } value ? value
            : throw new UsageException($"--model: {Path.GetFileName(modelPath)} has no '{key}' in its metadata: not a detector emo-train wrote");
        var features = Meta(Keys.Features).Split(',');
        var window = int.TryParse(Meta(Keys.Window), NumberStyles.None, inv, out var w) && w is > 0 and <= 100_000 ? w
            : throw new UsageException($"--model: its '{Keys.Window}' is not a window length");
        var threshold = double.TryParse(Meta(Keys.Threshold), NumberStyles.Float, inv, out var t) && double.IsFinite(t) ? t
            : throw new UsageException($"--model: its '{Keys.Threshold}' is not a number");
        if (!session.InputMetadata.TryGetValue("window", out var input) || input.Dimensions is not [_, var width] || width != window * features.Length
            || !session.OutputMetadata.ContainsKey("error"))
            throw new UsageException($"--model: its graph does not take windows of {window} × {features.Length} readings to an 'error' score");
        var trained = long.TryParse(meta.GetValueOrDefault(Keys.SamplingInterval), NumberStyles.None, inv, out var ms) && ms > 0 ? ms : (long?)null;
        var interval = Cadence.Parse(line.String("cadence"), "cadence") ?? trained;
        // Gaps are filled as in training: up to the same time.
        var fill = Keys.GapFillOf(meta);
        if (fill < 0 || fill >= window) throw new UsageException($"--model: its '{Keys.GapFill}' is not fewer readings than a window");
        var placed = Cadence.Place(SensorCsvLoader.Load(dataPath, features), interval, window, (long)fill * (trained ?? 0), Path.GetFileName(dataPath));
        var data = placed.Data;
        var windows = TimelineSplit.Windows(data, window, 1, m => (0, m.Length));
        if (windows.Count == 0) throw new UsageException($"{Path.GetFileName(dataPath)}: no window of {window} consecutive readings without a gap");
        var scores = Score(session, windows);
        var step = placed.IntervalMs ?? 1;
        var whole = (Func<MachineSeries, (int, int)>)(m => (0, m.Length));
        var events = Episodes.Events(data, whole);
        var report = Episodes.Evaluate(data, windows, scores.Select(s => AlarmRule.Alarm(s, threshold)).ToArray(), events, window, AnomalyTrainer.ReadAlarmRule(line),
            Episodes.Days(data, whole, step));
        AnomalyTrainer.WriteScores(outPath, data, windows, window, scores, threshold, report, null, 0);

        output.WriteLine($"scored {windows.Count:N0} windows of {window} readings ({data.Machines.Count} machine(s), {data.Readings:N0} readings, " +
                         $"{placed.Duplicates:N0} duplicate(s), {placed.Filled:N0} filled, {placed.Gaps:N0} gap(s)) at threshold {threshold.ToString("0.####", inv)}: " +
                         $"{scores.Count(s => AlarmRule.Alarm(s, threshold)):N0} alarm(s) in {report.Episodes:N0} episode(s) over {report.Days:0.#} machine-day(s)");
        if (data.HasLabels && events.Count > 0)
            output.WriteLine($"labels: {report.Detected}/{report.Events} labelled event(s) detected" +
                             (report.Detected > 0 ? $", median delay {report.MedianDelaySeconds:0} s" : "") + $"; {report.FalseEpisodes:N0} false episode(s)");
        output.WriteLine($"wrote {outPath}");
    }

    private static string Required(CommandLine line, string option, string what) =>
        line.String(option) ?? throw new UsageException($"--{option} {what} is required");

    private static InferenceSession Open(string path)
    {
        if (!File.Exists(path)) throw new UsageException($"--model: {Path.GetFileName(path)} does not exist");
        try
        {
            return new InferenceSession(path);
        }
        catch (OnnxRuntimeException)
        {
            throw new UsageException($"--model: {Path.GetFileName(path)} is not an ONNX model ONNX Runtime can load");
        }
    }

    /// <summary>The graph's <c>error</c> output for every window, in batches.</summary>
    private static double[] Score(InferenceSession session, WindowSet windows)
    {
        var scores = new double[windows.Count];
        for (var start = 0; start < windows.Count; start += Batch)
        {
            var rows = Math.Min(Batch, windows.Count - start);
            using var input = OrtValue.CreateTensorValueFromMemory(windows.Values.AsSpan(start * windows.Width, rows * windows.Width).ToArray(), [rows, windows.Width]);
            using var run = new RunOptions();
            using var outputs = session.Run(run, ["window"], [input], ["error"]);
            var errors = outputs[0].GetTensorDataAsSpan<float>();
            for (var i = 0; i < rows; i++) scores[start + i] = errors[i];
        }
        return scores;
    }
}
