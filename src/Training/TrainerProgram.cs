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
            return args.Length == 0 ? BadUsage : Ok;
        }
        if (args[0] == "generate") return Generate(args[1..], output, errors);
        var (trainer, rest) = (args[0], args[1..]);
        var (options, synopsis) = trainer switch
        {
            RecommenderTrainer.Name => (RecommenderTrainer.Options, RecommenderTrainer.Synopsis),
            AnomalyTrainer.Name => (AnomalyTrainer.Options, AnomalyTrainer.Synopsis),
            _ => (null, null),
        };
        if (options is null || synopsis is null)
        {
            errors.WriteLine($"error: unknown trainer '{trainer}' (recommender or anomaly)");
            return BadUsage;
        }
        if (rest.Any(a => a is "-h" or "--help"))
        {
            output.Write(CommandLine.Usage(trainer, synopsis, options));
            return Ok;
        }
        try
        {
            var line = CommandLine.Parse(trainer, rest, options);
            var seed = line.Int("seed", 42, min: 0);
            if (trainer == RecommenderTrainer.Name)
            {
                var settings = RecommenderTrainer.Read(line, seed);
                using var session = TrainingSession.Open(trainer, line, output, errors, environment);
                RecommenderTrainer.Run(session, settings);
            }
            else
            {
                var settings = AnomalyTrainer.Read(line, seed);
                using var session = TrainingSession.Open(trainer, line, output, errors, environment);
                AnomalyTrainer.Run(session, settings);
            }
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
