using System.Diagnostics;
using System.Globalization;
using System.Net.Http.Json;
using System.Text.Json;
using EventMlOps.Agents.Hosting;
using EventMlOps.Cli.Endpoints;
using EventMlOps.Cli.Registry;
using EventMlOps.Cli.Training;
using EventMlOps.Contracts.Registry;

namespace EventMlOps.Cli.Demo;

/// <summary>The sensor use case: generated machine readings → the autoencoder trained and registered → approved and
/// rolled out to its own serving replica → the held-out end of every machine's timeline, with its injected anomalies,
/// streamed window by window to the replica → detection figures against the injected truth, beside the trainer's own.</summary>
public static class SensorDemo
{
    public const string Model = "sensors", Endpoint = "sensors";
    private const int Window = 30, Stride = 5, Batch = 64, Seed = 42;

    /// <summary>The share of each timeline the trainer trains and chooses its threshold on (its defaults, 0.6 + 0.2); the
    /// rest is held out, and streamed here.</summary>
    private const double Seen = 0.8;

    public static async Task RunAsync(DemoStage s, string trainer, CancellationToken ct)
    {
        s.Step("alice registers sensor readings: machines with temperature, vibration and pressure, one reading a minute (generated)");
        var (machines, days) = (6, s.Quick ? 14 : 28);
        var spec = TrainCommand.GeneratorUri("anomaly", $"machines={machines},days={days}", Seed);
        var (dataset, _) = await TrainCommand.RegisterGeneratorAsync(s.Alice, "anomaly", spec, ct);
        s.Say($"dataset {dataset}  {spec}");

        s.Step("alice trains the autoencoder; its alarm threshold is chosen on held-out normal data for a 5 % false-positive rate");
        var (version, run) = await s.TrainAsync(Model, "anomaly", dataset, new() { ["epochs"] = s.Quick ? 15 : 20, ["window"] = Window }, ct);
        await VersionsCommand.ApproveAsync(s.Bob, version, "detects the injected faults offline", ct);
        await VersionsCommand.StageAsync(s.Bob, version, ModelStage.Production, ct);
        s.Say($"bob approves {version} and moves it to Production");

        s.Step($"olivia rolls {version} out on endpoint '{Endpoint}': a second replica, for this endpoint alone");
        await s.PrepareEndpointAsync(Endpoint, Model, ct);
        await EndpointsCommand.RollOutAsync(s.Olivia, Endpoint, version.Version, [], 0, null, ct);
        var (_, replica) = await s.ServingAsync(Endpoint, ct);
        var url = new Uri(replica.Url!);
        s.Say($"replica {replica.Name} serves {version} at {url} (POST /score)");

        s.Step($"the stream: the held-out last {1 - Seen:P0} of every machine's timeline (never trained on), with its injected anomalies "
            + $"(spikes, drifts, stuck sensors, bearing wear), scored every {Stride} minutes over the last {Window} minutes");
        var readings = await HeldOutAsync(trainer, machines, days, ct);
        var windows = Windows(readings);
        s.Say($"{readings.Sum(m => m.Values.Count)} readings of {readings.Count} machines → {windows.Count} windows of {Window} × 3 readings");
        var (verdicts, elapsed, p95) = await ScoreAsync(url, windows, ct);
        var d = Detection.Of(windows, verdicts);
        s.Say($"scored {windows.Count} windows in {elapsed.TotalSeconds:0.00} s ({windows.Count / elapsed.TotalSeconds:0} windows/s, "
            + $"{Batch} per request, p95 {p95:0.0} ms per request)");
        s.Say($"detection: TPR {d.Tpr:0.000} ({d.TruePositives} of {d.Anomalous} anomalous windows), FPR {d.Fpr:0.000} ({d.FalsePositives} of {d.Normal} normal), "
            + $"precision {d.Precision:0.000}");
        s.Say("by kind: " + string.Join(", ", d.ByKind.Select(k => $"{k.Key.Replace('_', ' ')} {k.Value.Caught}/{k.Value.Total}")));
        s.Say($"(offline, the trainer measured TPR {Fmt.Number(run.Metrics!["tpr"])} at FPR {Fmt.Number(run.Metrics["fpr"])} on this part: every window, in TorchSharp)");

        s.Summary.Add(new SummaryRow("sensors", version.ToString(), Fmt.Numbers(run.Hyperparameters),
            $"tpr {Fmt.Number(run.Metrics!["tpr"])} at fpr {Fmt.Number(run.Metrics["fpr"])}", "immediate: promoted",
            $"{windows.Count} windows, TPR {d.Tpr:0.00} FPR {d.Fpr:0.00}"));
    }

    private sealed record Machine(string Name, List<float[]> Values, List<string?> Labels);

    private sealed record LabelledWindow(float[][] Steps, string? Kind);

    /// <summary>The training data again (<c>emo-train generate sensors</c> with the dataset's spec), cut to the part of each
    /// machine's timeline the trainer held out.</summary>
    private static async Task<IReadOnlyList<Machine>> HeldOutAsync(string trainer, int machines, int days, CancellationToken ct)
    {
        var csv = Path.Combine(Path.GetTempPath(), $"emo-demo-stream-{Guid.NewGuid():N}.csv");
        try
        {
            var (command, prefix) = AgentSettings.Command(trainer, AgentSettings.Dotnet());
            var start = new ProcessStartInfo(command) { RedirectStandardOutput = true, RedirectStandardError = true };
            foreach (var arg in (string[])[.. prefix, "generate", "sensors", "--machines", machines.ToString(CultureInfo.InvariantCulture),
                         "--days", days.ToString(CultureInfo.InvariantCulture), "--normal-fraction", Seen.ToString(CultureInfo.InvariantCulture),
                         "--seed", Seed.ToString(CultureInfo.InvariantCulture), "--out", csv])
                start.ArgumentList.Add(arg);
            using var process = Process.Start(start) ?? throw new CliError($"could not start {command}");
            var errors = process.StandardError.ReadToEndAsync(ct);
            await process.StandardOutput.ReadToEndAsync(ct);
            await process.WaitForExitAsync(ct);
            if (process.ExitCode != 0) throw new CliError($"generating the sensor stream failed (exit code {process.ExitCode}): {await errors}");
            return [.. Read(csv).Select(m =>
            {
                var from = (int)(m.Values.Count * Seen);
                return new Machine(m.Name, m.Values[from..], m.Labels[from..]);
            })];
        }
        finally
        {
            File.Delete(csv);
        }
    }

    /// <summary>The CSV emo-train writes: <c>machine,timestamp,temperature,vibration,pressure,label</c>, in time order per machine.</summary>
    private static List<Machine> Read(string csv)
    {
        var machines = new List<Machine>();
        foreach (var line in File.ReadLines(csv).Skip(1))
        {
            var f = line.Split(',');
            if (machines.Count == 0 || machines[^1].Name != f[0]) machines.Add(new Machine(f[0], [], []));
            machines[^1].Values.Add([.. f[2..5].Select(v => float.Parse(v, CultureInfo.InvariantCulture))]);
            machines[^1].Labels.Add(f[5].Length == 0 ? null : f[5]);
        }
        return machines;
    }

    /// <summary>Every <see cref="Stride"/> readings, the last <see cref="Window"/>; anomalous when any of its readings is
    /// (its kind that of the first), as the trainer labels its test windows.</summary>
    private static List<LabelledWindow> Windows(IReadOnlyList<Machine> machines) =>
        [.. machines.SelectMany(m => Enumerable.Range(0, (m.Values.Count - Window) / Stride + 1).Select(i => i * Stride).Select(start =>
            new LabelledWindow([.. m.Values.Skip(start).Take(Window)], m.Labels.Skip(start).Take(Window).FirstOrDefault(l => l is not null))))];

    private static async Task<(bool[] Verdicts, TimeSpan Elapsed, double P95Ms)> ScoreAsync(Uri replica, List<LabelledWindow> windows, CancellationToken ct)
    {
        using var http = new HttpClient { BaseAddress = replica, Timeout = TimeSpan.FromSeconds(30) };
        var verdicts = new List<bool>(windows.Count);
        var latencies = new List<double>();
        var clock = Stopwatch.StartNew();
        foreach (var batch in windows.Chunk(Batch))
        {
            var sent = Stopwatch.GetTimestamp();
            using var response = await http.PostAsJsonAsync("score", new { windows = batch.Select(w => w.Steps) }, ct);
            var body = await response.Content.ReadAsStringAsync(ct);
            if (!response.IsSuccessStatusCode) throw new CliError($"/score answered {(int)response.StatusCode}: {body}");
            latencies.Add(Stopwatch.GetElapsedTime(sent).TotalMilliseconds);
            verdicts.AddRange(JsonDocument.Parse(body).RootElement.GetProperty("results").EnumerateArray().Select(r => r.GetProperty("anomaly").GetBoolean()));
        }
        latencies.Sort();
        return ([.. verdicts], clock.Elapsed, latencies[Math.Min(latencies.Count - 1, (int)Math.Ceiling(0.95 * latencies.Count) - 1)]);
    }

    private sealed record Detection(int Anomalous, int Normal, int TruePositives, int FalsePositives, IReadOnlyDictionary<string, (int Caught, int Total)> ByKind)
    {
        public double Tpr => Anomalous == 0 ? 0 : (double)TruePositives / Anomalous;
        public double Fpr => Normal == 0 ? 0 : (double)FalsePositives / Normal;
        public double Precision => TruePositives + FalsePositives == 0 ? 0 : (double)TruePositives / (TruePositives + FalsePositives);

        public static Detection Of(IReadOnlyList<LabelledWindow> windows, bool[] verdicts)
        {
            var pairs = windows.Zip(verdicts).ToList();
            return new Detection(
                pairs.Count(p => p.First.Kind is not null), pairs.Count(p => p.First.Kind is null),
                pairs.Count(p => p.First.Kind is not null && p.Second), pairs.Count(p => p.First.Kind is null && p.Second),
                pairs.Where(p => p.First.Kind is not null).GroupBy(p => p.First.Kind!).OrderBy(g => g.Key, StringComparer.Ordinal)
                    .ToDictionary(g => g.Key, g => (g.Count(p => p.Second), g.Count())));
        }
    }
}
