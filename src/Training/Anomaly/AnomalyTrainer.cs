using System.Globalization;
using System.Diagnostics;
using EventMlOps.Contracts.Training;
using EventMlOps.Models;
using EventMlOps.Training.Running;
using TorchSharp;
using static TorchSharp.torch;

namespace EventMlOps.Training.Anomaly;

/// <summary><c>emo-train anomaly</c>: a dense autoencoder over windows of multi-sensor readings, trained on the
/// first part of every machine's timeline; the alarm threshold is chosen on the held-out normal part that follows
/// for a target false-positive rate, and detection is evaluated on the labelled last part.</summary>
public static class AnomalyTrainer
{
    public const string Name = "anomaly";
    public const string Synopsis = "(--data <readings.csv> | --generate) --out <dir> [options]";
    public const int DefaultEpochs = 20, DefaultBatchSize = 256;
    public const double DefaultLearningRate = 0.001;

    /// <summary>How alarms are counted, as a replica's stream scorer raises them (<see cref="AlarmRule"/>); the scoring mode takes them too.</summary>
    public static readonly IReadOnlyList<OptionSpec> AlarmOptions =
    [
        OptionSpec.Hyperparameter(Name, "raise-after", $"anomalous windows in a row that raise an alarm, as the stream scorer's default (default {AlarmRule.DefaultRaiseAfter}; 1: every alarmed window)"),
        OptionSpec.Hyperparameter(Name, "clear-after", $"normal windows in a row that clear it (default {AlarmRule.DefaultClearAfter})"),
    ];

    public static AlarmRule ReadAlarmRule(CommandLine options) =>
        new(options.Int("raise-after", AlarmRule.DefaultRaiseAfter), options.Int("clear-after", AlarmRule.DefaultClearAfter));

    public static readonly IReadOnlyList<OptionSpec> Options =
    [
        .. TrainingSession.CommonOptions(Name, DefaultEpochs, DefaultLearningRate, DefaultBatchSize),
        OptionSpec.Hyperparameter(Name, "window", "readings per window (default 30)"),
        OptionSpec.Hyperparameter(Name, "stride", "steps between training windows (default 1)"),
        new("hidden", "encoder layer sizes, the last is the code; the decoder mirrors them (default 256,64,8)"),
        OptionSpec.Hyperparameter(Name, "target-fpr", "false-positive rate the threshold is chosen for on held-out normal data (default 0.05)"),
        new("features", "CSV: the feature columns to use, comma-separated (default: all but timestamp, machine, label)"),
        OptionSpec.Hyperparameter(Name, "train-fraction", "share of each machine's timeline to train on (default 0.6)"),
        OptionSpec.Hyperparameter(Name, "validation-fraction", "share after it, assumed normal, to choose the threshold on (default 0.2); the rest is the test part"),
        new("cadence", "the sampling interval readings are placed at, e.g. 60s or 5m (default: the median step between readings; given, it resamples the series: the last reading of each interval is kept)"),
        new("gap-tolerance", "a gap in the readings up to this long is filled with the last reading, e.g. 3m; a longer one ends a run of windows (default 0: none filled)"),
        new("normalisation", "training: centre readings on the training median (level changes such as drifts alarm); window: on each window's own mean (a level shift after training does not, nor does a slow drift); default training"),
        new("train-until", "instead of the shares: train on the readings at or before this moment (ISO 8601; needs --validate-until)"),
        new("validate-until", "with --train-until: choose the threshold on the readings after it, up to this moment; the rest is the test part"),
        new("keep-labelled", "train on and calibrate with readings labelled as anomalies too (default: they are left out, with a warning)", IsFlag: true),
        OptionSpec.Hyperparameter(Name, "zscore-history", "readings of history for the rolling z-score every run is compared with (default 10 windows)"),
        .. AlarmOptions,
        OptionSpec.Hyperparameter(Name, "machines", "generated machines (default 6)"),
        OptionSpec.Hyperparameter(Name, "days", "generated days of one-minute readings per machine (default 28)"),
        OptionSpec.Hyperparameter(Name, "recalibration", "generated data: °C every temperature sensor reads more, as after a recalibration (default 0)"),
    ];

    /// <summary>A realised false-positive rate up to this many times the target still counts as the threshold holding.</summary>
    public const double HoldsWithin = 1.5;

    public sealed record Settings(int Epochs, double LearningRate, int BatchSize, int Window, int Stride, int[] Hidden, double TargetFpr,
        string[] Features, TimelineSplit Split, SensorGeneratorOptions Generator, long? CadenceMs = null, int? ZscoreHistory = null, AlarmRule? Alarms = null,
        long GapToleranceMs = 0, Centring Centring = Centring.Training);

    public static Settings Read(CommandLine options, int seed)
    {
        var defaults = TrainerCatalog.BuiltIn.Shares[Name]; // the control plane checks the sum with the same defaults
        var train = options.Double("train-fraction", defaults["train_fraction"]);
        var validation = options.Double("validation-fraction", defaults["validation_fraction"]);
        if (train + validation >= 1) throw new UsageException("--train-fraction + --validation-fraction must leave a test part (sum < 1)");
        var (trainUntil, validateUntil) = (options.Time("train-until"), options.Time("validate-until"));
        if ((trainUntil is null) != (validateUntil is null)) throw new UsageException("--train-until and --validate-until go together: the two moments that end training and validation");
        if (trainUntil is not null && (options.String("train-fraction") is not null || options.String("validation-fraction") is not null))
            throw new UsageException("split by shares (--train-fraction, --validation-fraction) or by moments (--train-until, --validate-until), not both");
        if (validateUntil <= trainUntil) throw new UsageException("--validate-until must be after --train-until");
        return new Settings(
            options.Int("epochs", DefaultEpochs),
            options.Double("lr", DefaultLearningRate),
            options.Int("batch-size", DefaultBatchSize),
            options.Int("window", 30),
            options.Int("stride", 1),
            options.IntList("hidden", [256, 64, 8]),
            options.Double("target-fpr", 0.05),
            options.StringList("features"),
            new TimelineSplit(train, validation, options.Flag("keep-labelled"), trainUntil, validateUntil),
            new SensorGeneratorOptions(options.Int("machines", 6), options.Double("days", 28), train + validation, seed, options.Double("recalibration", 0)),
            Cadence.Parse(options.String("cadence"), "cadence"),
            options.String("zscore-history") is null ? null : options.Int("zscore-history", 0),
            ReadAlarmRule(options),
            Cadence.Parse(options.String("gap-tolerance"), "gap-tolerance", zero: true) ?? 0,
            options.String("normalisation") switch
            {
                null or "training" => Centring.Training,
                "window" => Centring.Window,
                _ => throw new UsageException("--normalisation must be 'training' or 'window'"),
            });
    }

    public static void Run(TrainingSession session, Settings s)
    {
        var clock = Stopwatch.StartNew();
        var placed = Cadence.Place(session.DataPath is { } path ? SensorCsvLoader.Load(path, s.Features) : SensorGenerator.Generate(s.Generator), s.CadenceMs,
            s.Window, s.GapToleranceMs, session.DataPath is null ? "generated data" : Path.GetFileName(session.DataPath));
        var data = placed.Data;
        var features = data.Features;
        // The header's names are counted, not printed: a file that fails later must not have its first line in the log
        // (they are in params.json and the model's schema once the data trained).
        session.Info($"data: {data.Machines.Count} machine(s), {data.Readings} readings of {features.Length} features"
                     + $"{(data.HasLabels ? ", labelled" : "")} ({(session.DataPath is null ? "generated" : session.DataPath)}, {clock.Elapsed.TotalSeconds:0.0} s)");

        if (placed.IntervalMs is { } interval)
            session.Info($"event time: one reading every {interval:N0} ms ({(s.CadenceMs is null ? "the median step" : "--cadence")}); {placed.Duplicates:N0} duplicate(s) " +
                         $"(the later reading kept), {placed.Filled:N0} missing reading(s) filled with the last one (gaps up to {placed.FillSlots} reading(s)), " +
                         $"{placed.Gaps:N0} gap(s) that no window spans");
        WarnOfLabelled(session, data, s.Split);
        var (mean, std) = Normalisation(data, s.Split);
        var train = s.Split.TrainWindows(data, s.Window, s.Stride);
        var validation = s.Split.ValidationWindows(data, s.Window);
        var test = TimelineSplit.Windows(data, s.Window, 1, s.Split.Test);
        if (train.Count == 0 || validation.Count == 0)
            throw new UsageException($"too little data for windows of {s.Window}: {train.Count} training and {validation.Count} validation windows");
        var testAnomalous = test.Anomalous;
        session.Info($"windows of {s.Window} × {features.Length}: {train.Count} training, {validation.Count} validation, {test.Count} test"
                     + (testAnomalous is null ? " (no labels: detection quality is not evaluated)" : $" ({testAnomalous.Count(a => a)} anomalous)"));

        var parameters = new Parameters
        {
            ["window"] = s.Window,
            ["stride"] = s.Stride,
            ["hidden"] = s.Hidden,
            ["target_fpr"] = s.TargetFpr,
            ["features"] = features,
            ["keep_labelled"] = s.Split.KeepLabelled,
            ["optimizer"] = "adam",
            ["loss"] = "mse",
            ["machines"] = data.Machines.Count,
            ["readings"] = data.Readings,
            ["generator_days"] = session.DataPath is null ? s.Generator.Days : 0,
            ["cadence_ms"] = placed.IntervalMs ?? 0,
            ["gap_fill"] = placed.FillSlots,
            ["normalisation"] = s.Centring == Centring.Window ? "window" : "training",
            ["raise_after"] = (s.Alarms ?? new AlarmRule()).RaiseAfter,
            ["clear_after"] = (s.Alarms ?? new AlarmRule()).ClearAfter,
        };
        if (s.Split is { TrainUntil: { } trainUntil, ValidateUntil: { } validateUntil })
            (parameters["train_until"], parameters["validate_until"]) = (Moment(trainUntil), Moment(validateUntil));
        else
            (parameters["train_fraction"], parameters["validation_fraction"]) = (s.Split.TrainFraction, s.Split.ValidationFraction);
        session.Begin(s.Epochs, s.LearningRate, s.BatchSize, parameters);

        var device = session.Device;
        var meanTiled = Tile(mean, s.Window);
        var stdTiled = Tile(std, s.Window);
        using var model = new Autoencoder(train.Width, s.Hidden);
        model.to(device);
        using var scorer = new WindowScorer(model, meanTiled, stdTiled, features.Length, device, s.Centring);
        using var optimizer = optim.Adam(model.parameters(), s.LearningRate);
        using var trainX = scorer.Normalise(tensor(train.Values, [train.Count, train.Width], device: device));
        var rng = new Random(session.Seed);
        double loss = double.NaN, validationLoss = double.NaN;
        var trainClock = Stopwatch.StartNew();
        for (var epoch = 1; epoch <= s.Epochs; epoch++)
        {
            var epochClock = Stopwatch.StartNew();
            loss = TrainEpoch(model, optimizer, trainX, s.BatchSize, rng, device);
            validationLoss = ValidationLoss(model, scorer, validation, device);
            session.Epoch(epoch, s.Epochs, epochClock.Elapsed.TotalSeconds, new Metrics { ["loss"] = loss, ["val_loss"] = validationLoss });
        }
        var trainSeconds = trainClock.Elapsed.TotalSeconds;

        scorer.Calibrate(train.Values, train.Width);
        var residualScale = scorer.ResidualScale.Take(features.Length).ToArray();
        session.Info("residual scale (normalised units): " + string.Join(", ", features.Select((f, k) => $"{f} {residualScale[k]:0.0000}")));
        var validationErrors = scorer.Score(validation.Values, validation.Width).Errors.Select(e => (double)e).ToArray();
        var threshold = Detection.Threshold(validationErrors, s.TargetFpr);
        var testErrors = scorer.Score(test.Values, test.Width).Errors.Select(e => (double)e).ToArray();
        var metrics = new Metrics();
        var step = placed.IntervalMs ?? 1;
        var history = s.ZscoreHistory ?? 10 * s.Window;
        var zscoreThreshold = Detection.Threshold(RollingGaussian.WindowScores(data, validation, s.Window, history), s.TargetFpr);
        var zscores = RollingGaussian.WindowScores(data, test, s.Window, history);
        var (events, days) = (Episodes.Events(data, s.Split.Test), Episodes.Days(data, s.Split.Test, step));
        var rule = s.Alarms ?? new AlarmRule();
        var episodes = Episodes.Evaluate(data, test, testErrors.Select(e => AlarmRule.Alarm(e, threshold)).ToArray(), events, s.Window, rule, days);
        var zscoreEpisodes = Episodes.Evaluate(data, test, zscores.Select(z => AlarmRule.Alarm(z, zscoreThreshold)).ToArray(), events, s.Window, rule, days);
        ReportEpisodes(session, metrics, "", episodes, events.Count > 0);
        ReportEpisodes(session, metrics, "zscore_", zscoreEpisodes, events.Count > 0);
        metrics["zscore_threshold"] = zscoreThreshold;
        if (testAnomalous is not null && testAnomalous.Any(a => a) && testAnomalous.Any(a => !a))
        {
            var confusion = Detection.Classify(testErrors, testAnomalous, threshold);
            metrics["tpr"] = confusion.Tpr;
            metrics["fpr"] = confusion.Fpr;
            metrics["precision"] = confusion.Precision;
            metrics["recall"] = confusion.Recall;
            metrics["f1"] = confusion.F1;
            metrics["auc"] = Detection.RocAuc(testErrors, testAnomalous);
            metrics["tpr@5%fpr"] = Detection.TprAtFpr(testErrors, testAnomalous, 0.05);
            // Whether the threshold chosen on the validation part holds later: the realised rate against the target.
            metrics["fpr_vs_target"] = confusion.Fpr / s.TargetFpr;
            if (confusion.Fpr > HoldsWithin * s.TargetFpr)
                session.Info($"warning: the false-positive rate on the test part is {confusion.Fpr:0.###}, {confusion.Fpr / s.TargetFpr:0.#}× the target " +
                             $"{s.TargetFpr:0.###}: the threshold chosen on the validation part does not hold there");
            var zscoreConfusion = Detection.Classify(zscores, testAnomalous, zscoreThreshold);
            (metrics["zscore_tpr"], metrics["zscore_fpr"]) = (zscoreConfusion.Tpr, zscoreConfusion.Fpr);
            Put(metrics, "zscore_auc", Detection.RocAuc(zscores, testAnomalous));
            var kinds = test.Kinds!;
            foreach (var kind in kinds.OfType<string>().Distinct().Order(StringComparer.Ordinal))
            {
                var ofKind = Enumerable.Range(0, test.Count).Where(i => kinds[i] == kind).ToArray();
                metrics[$"tpr_{kind}"] = ofKind.Count(i => testErrors[i] > threshold) / (double)ofKind.Length;
            }
        }
        else session.Info("test part: no labelled anomalies and normal windows both; tpr/fpr/precision/recall/auc are not reported");
        metrics["threshold"] = threshold;
        metrics["validation_fpr"] = validationErrors.Count(e => e > threshold) / (double)validationErrors.Length;
        metrics["loss"] = loss;
        metrics["val_loss"] = validationLoss;
        metrics["machines"] = data.Machines.Count;
        metrics["readings"] = data.Readings;
        metrics["train_windows"] = train.Count;
        metrics["validation_windows"] = validation.Count;
        metrics["test_windows"] = test.Count;
        metrics["test_anomalous_windows"] = testAnomalous?.Count(a => a) ?? 0;
        metrics["epochs"] = s.Epochs;
        metrics["seconds_per_epoch"] = trainSeconds / s.Epochs;
        metrics["train_seconds"] = trainSeconds;

        var sample = test.Count > 0 ? test : validation;
        session.ExportVerified(
            () => AnomalyExport.Build(model, features.Length, meanTiled, stdTiled, scorer.ResidualScale,
                AnomalyExport.Metadata(features, s.Window, s.Stride, mean, std, residualScale, threshold, s.TargetFpr, model.Sizes, placed.IntervalMs, metrics,
                    s.Centring, placed.FillSlots), s.Centring),
            path => Verify(scorer, path, sample, rng), metrics);

        WriteScores(session.PathOf(ScoresFile), data, test, s.Window, testErrors, threshold, episodes, zscores, zscoreThreshold);
        var trainErrors = scorer.Score(train.Values, train.Width).Errors;
        WriteBaseline(session.PathOf(TrainerProtocol.FileOf(TrainerProtocol.Baseline)), data, s.Split, trainErrors, validationErrors, threshold);
        metrics["total_seconds"] = session.Elapsed.TotalSeconds;
        session.Finish(metrics, s.Epochs);
    }

    /// <summary>The test part's windows, one line each, in the output folder beside the model.</summary>
    public const string ScoresFile = "scores.csv";

    /// <summary>Episode figures as metrics (<paramref name="prefix"/> "zscore_" for the rolling z-score), the detection
    /// figures only where the test part has labelled events; figures that do not exist (no episode, no detection) are left
    /// out rather than sent as NaN.</summary>
    private static void ReportEpisodes(TrainingSession session, Metrics metrics, string prefix, EpisodeReport r, bool labelled)
    {
        metrics[prefix + "episodes"] = r.Episodes;
        Put(metrics, prefix + "episodes_per_day", r.EpisodesPerDay);
        if (labelled)
        {
            Put(metrics, prefix + "false_episodes_per_day", r.FalseEpisodesPerDay);
            if (prefix == "") metrics["events"] = r.Events; // the same labelled events for both
            metrics[prefix + "events_detected"] = r.Detected;
            Put(metrics, prefix + "detection_delay_s_mean", r.MeanDelaySeconds);
            Put(metrics, prefix + "detection_delay_s_median", r.MedianDelaySeconds);
        }
        session.Info($"{(prefix == "" ? "model" : "rolling z-score")}: {r.Episodes:N0} alarm episode(s) over {r.Days:0.#} machine-day(s) " +
                     $"({r.EpisodesPerDay:0.##}/day)" + (labelled
                         ? $", {r.FalseEpisodes:N0} false ({r.FalseEpisodesPerDay:0.##}/day); {r.Detected}/{r.Events} labelled event(s) detected" +
                           (r.Detected > 0 ? $", median delay {r.MedianDelaySeconds:0} s" : "")
                         : ""));
    }

    private static void Put(Metrics metrics, string name, double value)
    {
        if (double.IsFinite(value)) metrics[name] = value;
    }

    /// <summary>scores.csv: per window its machine, the time of its last reading (when its score exists; ISO 8601, or the
    /// data's own number when its timestamps were numbers), the model's score, threshold, alarm and episode (empty when
    /// none), the window's label, and — when given — the rolling z-score's score and alarm. Names and labels come from the
    /// data: always quoted, and one a spreadsheet would run as a formula is written as text.</summary>
    public static void WriteScores(string path, SensorData data, WindowSet windows, int window, IReadOnlyList<double> scores, double threshold,
        EpisodeReport episodes, IReadOnlyList<double>? zscores, double zscoreThreshold)
    {
        var inv = CultureInfo.InvariantCulture;
        using var csv = new StreamWriter(path);
        csv.WriteLine("machine,end,score,threshold,alarm,episode,label" + (zscores is null ? "" : ",zscore,zscore_threshold,zscore_alarm"));
        for (var i = 0; i < windows.Count; i++)
        {
            var m = data.Machines[windows.Machine[i]];
            var end = m.Timestamps[windows.Start[i] + window - 1];
            csv.Write(Text(m.Machine));
            csv.Write(',');
            csv.Write(data.NumericTimes ? end.ToString(inv) : DateTimeOffset.FromUnixTimeMilliseconds(end).ToString("yyyy-MM-ddTHH:mm:ss.fffZ", inv));
            csv.Write(string.Create(inv, $",{scores[i]:R},{threshold:R},{(scores[i] > threshold ? 1 : 0)},"));
            if (episodes.EpisodeOf[i] >= 0) csv.Write(episodes.EpisodeOf[i].ToString(inv));
            csv.Write(',');
            if (windows.Kinds?[i] is { } kind) csv.Write(Text(kind));
            csv.WriteLine(zscores is null ? "" : string.Create(inv, $",{zscores[i]:R},{zscoreThreshold:R},{(zscores[i] > zscoreThreshold ? 1 : 0)}"));
        }

        // RFC 4180 quoting; a leading = + - @ made text for spreadsheets.
        static string Text(string value) =>
            "\"" + (value is ['=' or '+' or '-' or '@', ..] ? "'" + value : value).Replace("\"", "\"\"") + "\"";
    }

    private static string Moment(long unixMs) => DateTimeOffset.FromUnixTimeMilliseconds(unixMs).ToString("O", CultureInfo.InvariantCulture);

    /// <summary>Labelled anomalies in the parts that are assumed normal are said, with what becomes of them.</summary>
    private static void WarnOfLabelled(TrainingSession session, SensorData data, TimelineSplit split)
    {
        var (train, validation) = (TimelineSplit.Labelled(data, split.Train), TimelineSplit.Labelled(data, split.Validation));
        if (train + validation == 0) return;
        session.Info($"warning: {train:N0} labelled reading(s) fell into the training part and {validation:N0} into the validation part; " + (split.KeepLabelled
            ? "they are trained on and used to choose the threshold (--keep-labelled)"
            : "the windows holding them are left out of training and threshold calibration (--keep-labelled keeps them)"));
    }

    /// <summary>Per-feature centre and scale of the training readings of all machines (without the readings the split
    /// leaves out), robustly: the median, and the interquartile range over 1.349 (the standard deviation for Gaussian
    /// data; faults and outliers left in the training part barely move either). A feature whose quartiles coincide
    /// (mostly one value) is scaled by its standard deviation instead.</summary>
    public static (float[] Centre, float[] Scale) Normalisation(SensorData data, TimelineSplit split)
    {
        var f = data.Features.Length;
        var values = Enumerable.Range(0, f).Select(_ => new List<float>()).ToArray();
        foreach (var m in data.Machines)
        {
            var (from, to) = split.Train(m);
            for (var t = from; t < to; t++)
                if (!split.Excluded(m, t))
                    for (var k = 0; k < f; k++) values[k].Add(m.Values[t * f + k]);
        }
        if (values[0].Count == 0) throw new UsageException("no training readings");
        var centre = new float[f];
        var scale = new float[f];
        for (var k = 0; k < f; k++)
        {
            var sorted = values[k].Order().ToArray();
            centre[k] = (float)Quantile(sorted, 0.5);
            var iqr = Quantile(sorted, 0.75) - Quantile(sorted, 0.25);
            var mean = sorted.Average(v => (double)v);
            scale[k] = (float)Math.Max(1e-6, iqr > 1e-6 * Math.Max(1, Math.Abs(mean)) ? iqr / 1.349 : Math.Sqrt(sorted.Average(v => (v - mean) * (v - mean))));
        }
        return (centre, scale);
    }

    private static double Quantile(float[] sorted, double q)
    {
        var at = q * (sorted.Length - 1);
        var below = (int)Math.Floor(at);
        return below + 1 < sorted.Length ? sorted[below] + (at - below) * (sorted[below + 1] - sorted[below]) : sorted[below];
    }

    public static float[] Tile(float[] perFeature, int window) => Enumerable.Range(0, window).SelectMany(_ => perFeature).ToArray();

    /// <summary>One pass of minibatch Adam on the reconstruction MSE over shuffled windows; returns the mean loss.</summary>
    public static double TrainEpoch(Autoencoder model, optim.Optimizer optimizer, Tensor windows, int batchSize, Random rng, Device device)
    {
        model.train();
        var n = (int)windows.shape[0];
        var order = Enumerable.Range(0, n).Select(i => (long)i).ToArray();
        rng.Shuffle(order);
        using var permutation = tensor(order, dtype: int64, device: device);
        var total = 0.0;
        for (var start = 0; start < n; start += batchSize)
        {
            using var scope = NewDisposeScope();
            var size = Math.Min(batchSize, n - start);
            var x = windows.index_select(0, permutation.narrow(0, start, size));
            var loss = nn.functional.mse_loss(model.forward(x), x);
            optimizer.zero_grad();
            loss.backward();
            optimizer.step();
            total += loss.item<float>() * size;
        }
        return total / Math.Max(1, n);
    }

    /// <summary>The reconstruction MSE (normalised units) on the validation windows.</summary>
    private static double ValidationLoss(Autoencoder model, WindowScorer scorer, WindowSet windows, Device device)
    {
        using var _ = no_grad();
        model.eval();
        double total = 0;
        for (var start = 0; start < windows.Count; start += 8192)
        {
            using var scope = NewDisposeScope();
            var rows = Math.Min(8192, windows.Count - start);
            var x = scorer.Normalise(tensor(windows.Values.AsSpan(start * windows.Width, rows * windows.Width).ToArray(), [rows, windows.Width], device: device));
            total += nn.functional.mse_loss(model.forward(x), x).item<float>() * rows;
        }
        return total / windows.Count;
    }

    /// <summary>Both outputs for a sample of windows, TorchSharp against ONNX Runtime.</summary>
    public static OnnxCheck.Difference Verify(WindowScorer scorer, string modelPath, WindowSet windows, Random rng, int samples = 1024)
    {
        samples = Math.Min(samples, windows.Count);
        var raw = new float[samples * windows.Width];
        for (var i = 0; i < samples; i++)
            windows.Row(i == 0 ? 0 : i == samples - 1 ? windows.Count - 1 : rng.Next(windows.Count)).CopyTo(raw.AsSpan(i * windows.Width));
        var (errors, reconstructions) = scorer.Score(raw, windows.Width, reconstructions: true);
        return OnnxCheck.Compare(modelPath, [new("window", raw, [samples, windows.Width])],
            new Dictionary<string, float[]> { ["reconstruction"] = reconstructions!, ["error"] = errors });
    }

    /// <summary>baseline.json: distributions of every feature's training readings and of the reconstruction error
    /// on the training and (normal) validation windows, for drift monitoring. <c>error</c> is the score serving reports
    /// for a window: the exported graph's <c>error</c> output, residuals scaled as calibrated (<see cref="Verify"/> checks
    /// that the scorer and the graph agree).</summary>
    public static void WriteBaseline(string path, SensorData data, TimelineSplit split, float[] trainErrors, double[] validationErrors, double threshold)
    {
        var f = data.Features.Length;
        JsonOut.WriteFile(path, w =>
        {
            w.WriteStartObject();
            w.WriteString("model_kind", Name);
            w.WriteNumber("threshold", threshold);
            w.WriteStartObject("inputs");
            for (var k = 0; k < f; k++)
            {
                var values = new List<double>();
                foreach (var m in data.Machines)
                {
                    var (from, to) = split.Train(m);
                    for (var t = from; t < to; t++)
                        if (!split.Excluded(m, t)) values.Add(m.Values[t * f + k]);
                }
                w.WritePropertyName(data.Features[k]);
                Distribution.Of(values.ToArray()).Write(w);
            }
            w.WriteEndObject();
            w.WriteStartObject("outputs");
            w.WritePropertyName("error");
            Distribution.Of(trainErrors).Write(w);
            w.WritePropertyName("error_validation");
            Distribution.Of((double[])validationErrors.Clone()).Write(w);
            w.WriteEndObject();
            w.WriteEndObject();
        });
    }
}
