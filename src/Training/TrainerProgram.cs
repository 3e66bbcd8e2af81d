using EventMlOps.Training.Anomaly;
using EventMlOps.Training.Recommender;
using EventMlOps.Training.Running;

namespace EventMlOps.Training;

/// <summary><c>emo-train &lt;recommender|anomaly&gt; [options]</c>. Exit codes: 0 trained, exported and verified;
/// 1 the ONNX model failed verification or training failed; 2 bad usage or bad data.</summary>
public static class TrainerProgram
{
    public const int Ok = 0, Failed = 1, BadUsage = 2;

    public static int Run(string[] args, TextWriter output, TextWriter errors, Func<string, string?> environment)
    {
        if (args.Length == 0 || args[0] is "-h" or "--help" or "help")
        {
            output.WriteLine("usage: emo-train <recommender|anomaly> [options]   (emo-train <trainer> --help for its options)");
            output.WriteLine($"       emo-train generate {SensorCsvWriter.Synopsis}");
            output.WriteLine($"       emo-train anomaly score {AnomalyScoring.Synopsis}");
            return args.Length == 0 ? BadUsage : Ok;
        }
        if (args[0] == "generate") return Generate(args[1..], output, errors);
        if (args is [AnomalyTrainer.Name, "score", .. var scoring]) return Score(scoring, output, errors);
        var (trainer, rest) = (args[0], args[1..]);
        if (!Trainers.TryGetValue(trainer, out var entry))
        {
            errors.WriteLine($"error: unknown trainer '{trainer}' (recommender or anomaly)");
            return BadUsage;
        }
        if (rest.Any(a => a is "-h" or "--help"))
        {
            output.Write(CommandLine.Usage(trainer, entry.Synopsis, entry.Options));
            return Ok;
        }
        try
        {
            var (settings, train) = Prepare(trainer, rest);
            var store = settings.DataSha256 is not null || settings.Publish ? JobStore.Open(environment) : null;
            if (settings.DataSha256 is { } sha256) settings = settings with { DataPath = store!.Fetch(settings.DataPath!, sha256) };
            using (var session = TrainingSession.Open(trainer, settings, output, errors, environment))
                train(session);
            store?.Publish(settings.OutputFolder, output);
            return Ok;
        }
        catch (UsageException e)
        {
            errors.WriteLine($"error: {e.Message}");
            return BadUsage;
        }
        catch (VerificationException e)
        {
            errors.WriteLine($"error: ONNX verification failed: {e.Message}");
            return Failed;
        }
        catch (Exception e) when (e is not OutOfMemoryException)
        {
            errors.WriteLine($"error: training failed: {e}");
            return Failed;
        }
        finally
        {
            output.Flush();
            errors.Flush();
        }
    }

    /// <param name="Read">Reads the trainer's own options (given the seed) into the training they ask for.</param>
    internal sealed record Trainer(string Synopsis, IReadOnlyList<OptionSpec> Options, Func<CommandLine, int, Action<TrainingSession>> Read);

    internal static readonly IReadOnlyDictionary<string, Trainer> Trainers = new Dictionary<string, Trainer>
    {
        [RecommenderTrainer.Name] = new(RecommenderTrainer.Synopsis, RecommenderTrainer.Options, (line, seed) =>
        {
            var settings = RecommenderTrainer.Read(line, seed);
            return session => RecommenderTrainer.Run(session, settings);
        }),
        [AnomalyTrainer.Name] = new(AnomalyTrainer.Synopsis, AnomalyTrainer.Options, (line, seed) =>
        {
            var settings = AnomalyTrainer.Read(line, seed);
            return session => AnomalyTrainer.Run(session, settings);
        }),
    };

    /// <summary>Every option read and checked (a <see cref="UsageException"/> otherwise) before anything is created.</summary>
    internal static (TrainingSession.Settings Settings, Action<TrainingSession> Train) Prepare(string trainer, IReadOnlyList<string> args)
    {
        var entry = Trainers[trainer];
        var line = CommandLine.Parse(trainer, args, entry.Options);
        var settings = TrainingSession.Read(line);
        return (settings, entry.Read(line, settings.Seed));
    }

    /// <summary><c>emo-train anomaly score …</c>: a trained detector over a CSV of readings (<see cref="AnomalyScoring"/>).</summary>
    private static int Score(string[] args, TextWriter output, TextWriter errors)
    {
        if (args.Any(a => a is "-h" or "--help"))
        {
            output.Write(CommandLine.Usage("anomaly score", AnomalyScoring.Synopsis, AnomalyScoring.Options));
            return Ok;
        }
        try
        {
            AnomalyScoring.Run(CommandLine.Parse("anomaly score", args, AnomalyScoring.Options), output);
            return Ok;
        }
        catch (Exception e) when (e is UsageException or IOException or UnauthorizedAccessException)
        {
            errors.WriteLine($"error: {e.Message}");
            return BadUsage;
        }
        catch (Exception e) when (e is not OutOfMemoryException)
        {
            errors.WriteLine($"error: scoring failed: {e.Message}");
            return Failed;
        }
        finally
        {
            output.Flush();
            errors.Flush();
        }
    }

    /// <summary><c>emo-train generate sensors …</c>: labelled sensor readings as CSV, without training.</summary>
    private static int Generate(string[] args, TextWriter output, TextWriter errors)
    {
        if (args.Length == 0 || args[0] != "sensors")
        {
            errors.WriteLine($"error: usage: emo-train generate {SensorCsvWriter.Synopsis}");
            return BadUsage;
        }
        try
        {
            var line = CommandLine.Parse("generate sensors", args[1..], SensorCsvWriter.Options);
            var path = line.String("out") ?? throw new UsageException("--out <file.csv> is required");
            var data = SensorGenerator.Generate(SensorCsvWriter.Read(line));
            using (var csv = new StreamWriter(path)) SensorCsvWriter.Write(data, csv);
            output.WriteLine($"wrote {data.Readings} readings of {data.Machines.Count} machines to {path}");
            return Ok;
        }
        catch (Exception e) when (e is UsageException or IOException or UnauthorizedAccessException)
        {
            errors.WriteLine($"error: {e.Message}");
            return BadUsage;
        }
    }
}
