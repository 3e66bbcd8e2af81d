using System.Diagnostics;
using System.Globalization;
using System.Security.Cryptography;
using System.Text;
using EventMlOps.Agents.Hosting;
using EventMlOps.Cli.Bus;
using EventMlOps.Cli.Endpoints;
using EventMlOps.Cli.Registry;
using EventMlOps.Cli.Streams;
using EventMlOps.Cli.Training;
using EventMlOps.Contracts.Datasets;
using EventMlOps.Contracts.Drift;
using EventMlOps.Contracts.Endpoints;
using EventMlOps.Contracts.Registry;
using EventMlOps.Contracts.Streams;
using EventMlOps.Contracts.Views;

namespace EventMlOps.Cli.Demo;

/// <summary>The sensor use case and the closed loop: generated machine readings → the autoencoder trained, approved and
/// rolled out → a model policy (drift thresholds; retrain on drift, canary) → weeks of readings streamed over the bus to
/// the endpoint's replica, which scores them in event-time windows and raises alarm episodes → mid-stream the fleet's
/// temperature sensors are recalibrated → the drift agent's windows drift, the control plane raises a drift alarm → the
/// policy retrains on the recalibrated data → bob approves → the canary is judged on the stream and promoted → alarm
/// episodes before, during and after, against the injected truth.</summary>
public static class SensorDemo
{
    public const string Model = "sensors", Endpoint = "sensors", RecentData = "sensors-recent";
    private const int Window = 30, Seed = 7, Machines = 6, Rate = 4000, LoopRate = 500, Batch = 400;
    private const double Recalibration = 6;

    public static async Task RunAsync(DemoStage s, string trainer, BusTarget bus, CancellationToken ct)
    {
        s.Step("alice registers sensor readings: machines with temperature, vibration and pressure, one reading a minute (generated)");
        var days = s.Quick ? 14 : 28;
        var spec = TrainCommand.GeneratorUri("anomaly", $"machines={Machines},days={days}", Seed);
        var (dataset, _) = await TrainCommand.RegisterGeneratorAsync(s.Alice, "anomaly", spec, ct);
        s.Say($"dataset {dataset}  {spec}");

        s.Step("alice trains the autoencoder; its alarm threshold is chosen on held-out normal data for a 5 % false-positive rate");
        var (version, run) = await s.TrainAsync(Model, "anomaly", dataset, new() { ["epochs"] = s.Quick ? 15 : 20, ["window"] = Window }, ct);
        await VersionsCommand.ApproveAsync(s.Bob, version, "detects the injected faults offline", ct);
        await VersionsCommand.StageAsync(s.Bob, version, ModelStage.Production, ct);
        s.Say($"bob approves {version} and moves it to Production");

        s.Step($"olivia rolls {version} out on endpoint '{Endpoint}': its replica scores the endpoint's sensor stream from the bus");
        await s.PrepareEndpointAsync(Endpoint, Model, ct);
        await EndpointsCommand.RollOutAsync(s.Olivia, Endpoint, version.Version, [], 0, null, ct);
        var (_, replica) = await s.ServingAsync(Endpoint, ct);
        s.Say($"replica {replica.Name} serves {version} at {replica.Url} and listens on {SensorReadings.QueueOf(Endpoint)} ({bus.Describe()})");

        // Long enough to outlast the loop on a slow machine (the stream slows while the loop retrains; the demo stops it when
        // the loop is done); a drift window of samples spans a few days of event time (at 50 samples/s and this rate), so
        // the daily cycle does not pass for drift.
        var streamDays = s.Quick ? 90 : 120;
        var cleanDays = (s.Quick ? 15 : 25) * (double)Rate / Machines / 1440;
        var windowSamples = 300;
        s.Step($"paula (scientist and operator) sets {Model}'s policy: drift windows of {windowSamples} samples, an alarm after 2 drifting windows in a row; "
            + $"on an alarm retrain on the latest '{RecentData}' and roll the approved version out as a canary");
        await RegisterRecentAsync(s, days / 2, 0, ct);
        s.Say($"alice registers the gateway's archive of recent readings as dataset '{RecentData}'");
        var policy = Policy(windowSamples, bakeSeconds: s.Quick ? 5 : 10);
        await s.Paula.SendAsync("/api/models/policy", new SetModelPolicy(Guid.NewGuid(), Model, policy.Drift, policy.Retraining), ct);
        s.Say($"policy: {Describe(policy.Drift)}; retraining on '{RecentData}', canary 50 % judged on the stream's scored batches");

        var stream = await StreamAsync(trainer, days, streamDays, cleanDays, ct);
        try
        {
            var recalibratedAt = stream.Start + TimeSpan.FromDays(cleanDays);
            s.Step($"the stream: the same machines' next {streamDays} days of readings ({stream.Readings.Count:N0}, a fault every two days or so) sent over the bus at "
                + $"{Rate:N0} readings/s; on {Fmt.Time(recalibratedAt)} (event time) the fleet's temperature sensors are recalibrated: +{Recalibration} °C");
            var phases = await StreamThroughLoopAsync(s, bus, stream, recalibratedAt, days, ct);
            await ReportEpisodesAsync(s, stream, phases, ct);
            s.Summary.Add(new SummaryRow("sensors", $"{version} → {phases.Retrained}", Fmt.Numbers(run.Hyperparameters),
                $"tpr {Fmt.Number(run.Metrics!["tpr"])} at fpr {Fmt.Number(run.Metrics["fpr"])}",
                $"drift alarm → retrained → canary: {phases.Outcome}", phases.Served));
        }
        finally
        {
            File.Delete(stream.Path);
        }
    }

    /// <summary>Not Evidently's defaults for the sensors: faults are in the stream on purpose, and a fault's few hours of
    /// extreme readings and scores move a Wasserstein distance far without the data having drifted. The Population
    /// Stability Index counts shares of the training deciles instead: a fault moves a few per cent of the values, a
    /// recalibration all of them. A channel drifts at PSI ≥ 0.25 (the customary "major shift"), one of three is enough; the
    /// anomaly score, which faults move most, only at PSI ≥ 2.</summary>
    private static (DriftPolicy Drift, RetrainingPolicy Retraining) Policy(int windowSamples, int bakeSeconds)
    {
        var psi = new DriftTest(DriftMethod.Psi, 0.25);
        var drift = new DriftPolicy(
            new Dictionary<string, DriftTest> { ["temperature"] = psi, ["vibration"] = psi, ["pressure"] = psi, ["error"] = new(DriftMethod.Psi, 2) },
            DriftShare: 0.3, WindowSamples: windowSamples, WindowSeconds: 120, DetectAfter: 2, ClearAfter: 2);
        // 20 scored batches before a verdict: the p95 of fewer is their slowest, and one batch held up by a busy machine
        // would decide the canary.
        var canary = new RolloutStrategy(RolloutKind.Canary, [new CanaryStep(50, bakeSeconds)], new RolloutAnalysis(IntervalSeconds: 2, MinRequests: 20));
        return (drift, new RetrainingPolicy(RecentData, canary));
    }

    private static string Describe(DriftPolicy p) =>
        string.Join(", ", (p.Features ?? new Dictionary<string, DriftTest>()).Select(f => $"{f.Key} {f.Value.Method} ≥ {Fmt.Number(f.Value.Threshold)}"))
        + $"; drifting when ≥ {p.DriftShare:P0} of the inputs or an output drift";

    /// <summary>The gateway's archive of the machines' recent readings (as many days as the first training data): generated
    /// like the training data, recalibrated when the recalibration happened.</summary>
    private static async Task RegisterRecentAsync(DemoStage s, int days, double recalibration, CancellationToken ct)
    {
        var uri = TrainCommand.GeneratorUri("anomaly", $"machines={Machines},days={days}" + (recalibration > 0 ? $",recalibration={recalibration}" : ""), Seed);
        var sha = Convert.ToHexStringLower(SHA256.HashData(Encoding.UTF8.GetBytes(uri)));
        await s.Alice.SendAsync("/api/datasets", new RegisterDataset(Guid.NewGuid(), Guid.NewGuid(), RecentData, uri, sha, "generated", 0, []), ct);
    }

    private sealed record Labelled(string Machine, DateTimeOffset Time, string? Label);

    private sealed record Stream(string Path, DateTimeOffset Start, IReadOnlyList<Labelled> Readings);

    /// <summary>The stream: the same machines' timeline (<c>emo-train generate sensors</c>, the training data's seed) after
    /// the <paramref name="trainedDays"/> the model was trained on, faults every two days or so, recalibrated after
    /// <paramref name="cleanDays"/> — in time order across machines, as a gateway would forward it.</summary>
    private static async Task<Stream> StreamAsync(string trainer, int trainedDays, int days, double cleanDays, CancellationToken ct)
    {
        var generated = System.IO.Path.Combine(System.IO.Path.GetTempPath(), $"emo-demo-generated-{Guid.NewGuid():N}.csv");
        var path = System.IO.Path.Combine(System.IO.Path.GetTempPath(), $"emo-demo-stream-{Guid.NewGuid():N}.csv");
        try
        {
            var (command, prefix) = AgentSettings.Command(trainer, AgentSettings.Dotnet());
            var start = new ProcessStartInfo(command) { RedirectStandardOutput = true, RedirectStandardError = true };
            var total = trainedDays + days;
            foreach (var arg in (string[])[.. prefix, "generate", "sensors", "--machines", Num(Machines), "--days", Num(total), "--normal-fraction", Num((double)trainedDays / total),
                         "--seed", Num(Seed), "--fault-gap-hours", "36", "--recalibration", Num(Recalibration), "--recalibrated-from", Num((trainedDays + cleanDays) / total),
                         "--out", generated])
                start.ArgumentList.Add(arg);
            using var process = Process.Start(start) ?? throw new CliError($"could not start {command}");
            var errors = process.StandardError.ReadToEndAsync(ct);
            await process.StandardOutput.ReadToEndAsync(ct);
            await process.WaitForExitAsync(ct);
            if (process.ExitCode != 0) throw new CliError($"generating the sensor stream failed (exit code {process.ExitCode}): {await errors}");
            // machine,timestamp,temperature,vibration,pressure,label — machine after machine; stably sorted by time.
            var lines = File.ReadLines(generated).ToList();
            var from = DateTimeOffset.Parse(lines[1].Split(',')[1], CultureInfo.InvariantCulture).AddDays(trainedDays).ToString("yyyy-MM-ddTHH:mm:ssZ", CultureInfo.InvariantCulture);
            var rows = lines.Skip(1).Select(l => (Line: l, Fields: l.Split(','))).Where(r => string.CompareOrdinal(r.Fields[1], from) >= 0)
                .OrderBy(r => r.Fields[1], StringComparer.Ordinal).ToList();
            await File.WriteAllLinesAsync(path, [lines[0], .. rows.Select(r => r.Line)], ct);
            var readings = rows.Select(r => new Labelled(r.Fields[0], DateTimeOffset.Parse(r.Fields[1], CultureInfo.InvariantCulture),
                r.Fields[5].Length == 0 ? null : r.Fields[5])).ToList();
            return new Stream(path, readings[0].Time, readings);
        }
        finally
        {
            File.Delete(generated);
        }
    }

    private static string Num(double value) => value.ToString(CultureInfo.InvariantCulture);

    /// <summary>Where the stream stood (event time) when the loop's milestones happened, and how it ended.</summary>
    private sealed record Phases(DateTimeOffset RecalibratedAt, DateTimeOffset? AlarmAt, DateTimeOffset? PromotedAt, DateTimeOffset End, string Retrained,
        string Outcome, string Served);

    /// <summary>Streams in the background while the loop runs: drift windows as the control plane judges them, the
    /// recalibration (and the gateway archiving the readings after it), the alarm, the retraining run, bob's approval,
    /// the canary on the stream — then a few clean windows of the new version.</summary>
    private static async Task<Phases> StreamThroughLoopAsync(DemoStage s, BusTarget bus, Stream stream, DateTimeOffset recalibratedAt, int archiveDays,
        CancellationToken ct)
    {
        using var stop = CancellationTokenSource.CreateLinkedTokenSource(ct);
        var (sent, rate) = (0L, Rate);
        var sending = StreamCommand.SendAsync(bus, Endpoint, new ReadingsFile(stream.Path), Batch, () => rate, (n, _) => Interlocked.Exchange(ref sent, n), stop.Token);
        DateTimeOffset Now() => stream.Readings[(int)Math.Clamp(Interlocked.Read(ref sent) - 1, 0, stream.Readings.Count - 1)].Time;
        var clock = Stopwatch.StartNew();
        var shown = new HashSet<(int, DateTimeOffset)>();
        async Task<EndpointDrift> WindowsAsync()
        {
            var drift = await s.Olivia.GetAsync<EndpointDrift>($"/api/endpoints/{Endpoint}/drift?limit=20", ct);
            foreach (var w in drift.Windows.Where(w => shown.Add((w.Version, w.WindowEnd))))
                s.Say($"drift window of v{w.Version} ({w.Samples} samples, stream at {Fmt.Time(Now())}): "
                    + string.Join(", ", w.Features.Select(f => $"{f.Feature} {Fmt.Number(f.Score)}{(f.Drifted ? "!" : "")}")) + $" → {(w.Drifted ? "DRIFTED" : "clean")}");
            return drift;
        }
        // The sender finishing is not the end of the stream: the replica may still be scoring what is queued.
        async Task<T> UntilAsync<T>(string what, Func<Task<T?>> poll, int seconds = 240) where T : class
        {
            for (var waited = Stopwatch.StartNew(); ; await Task.Delay(500, ct))
            {
                if (await poll() is { } done) return done;
                if (sending.IsFaulted) await sending;
                if (waited.Elapsed > TimeSpan.FromSeconds(seconds))
                    throw new CliError($"{what} did not happen within {seconds} s{(sending.IsCompleted ? " (all readings were sent)" : "")} "
                        + $"(./emo drift {Endpoint}; ./emo models policy {Model}; ./emo alarms --endpoint {Endpoint})");
            }
        }

        try
        {
            var archived = false;
            var alarm = await UntilAsync("a drift alarm", async () =>
            {
                if (!archived && Now() >= recalibratedAt)
                {
                    archived = true;
                    await RegisterRecentAsync(s, archiveDays, Recalibration, ct);
                    s.Say($"(stream at {Fmt.Time(Now())}) the temperature sensors read +{Recalibration} °C from now on; the gateway archives the readings since "
                        + $"as a new version of '{RecentData}'");
                }
                return (await WindowsAsync()).Alarms.LastOrDefault(a => a.ClearedAt is null);
            });
            var alarmAt = Now();
            s.Say($"drift alarm on v{alarm.Version} after {alarm.Windows} drifting windows: "
                + string.Join(", ", alarm.Features.Select(f => $"{f.Feature} {f.Method} {Fmt.Number(f.Score)} ≥ {Fmt.Number(f.Threshold)}")));

            s.Step("the closed loop: the policy asks for a training run on the latest 'sensors-recent', in paula's name, caused by the alarm");
            rate = LoopRate;
            s.Say($"(the stream slows to {LoopRate:N0} readings/s until the canary is decided, so that it outlasts a slow retraining)");
            var loop = await UntilAsync("the retraining run", async () =>
                (await s.Olivia.GetAsync<ModelPolicyView>($"/api/models/{Model}/policy", ct)).Loops.FirstOrDefault(l => l.AlarmId == alarm.AlarmId && l.RunId is not null));
            var runId = loop.RunId!.Value;
            s.Say($"run {runId} requested by paula (trigger: alarm {alarm.AlarmId:N} on '{Endpoint}'); the stream goes on meanwhile");
            var progress = new TrainingProgress(s.Out, TrainingProgress.IsTerminal(s.Out), "    ");
            var run = await TrainCommand.WaitForOutcomeAsync(s.Alice, runId, r => progress.Draw(r, new Dictionary<string, double>()), ct);
            progress.Done();
            if (run.RegisteredVersion is not { } v2)
                throw new CliError($"the retraining run {runId} was not registered: {run.Status} {run.FailureReason ?? run.RegistrationBlocked}");
            var retrained = new ModelRef(Model, v2);
            s.Say($"trained on the recalibrated readings in {Fmt.Seconds(run.DurationSeconds)}; {Fmt.Headline(run.Metrics)}; registered as {retrained}");
            var waiting = await UntilAsync("waiting for approval", async () =>
                (await s.Olivia.GetAsync<ModelPolicyView>($"/api/models/{Model}/policy", ct)).Loops.FirstOrDefault(l => l.AlarmId == alarm.AlarmId
                    && l.State == RetrainingStates.WaitingForApproval));
            s.Say($"the loop waits: {waiting.State} ({waiting.Detail}) — paula, who asked for the run, may not approve it");

            s.Step($"bob approves {retrained}; the policy starts its canary on '{Endpoint}', judged on the stream's scored batches");
            await VersionsCommand.ApproveAsync(s.Bob, retrained, "retrained on the recalibrated sensors", ct);
            var started = await UntilAsync("the canary", async () =>
                (await s.Olivia.GetAsync<ModelPolicyView>($"/api/models/{Model}/policy", ct)).Loops.FirstOrDefault(l => l.AlarmId == alarm.AlarmId && l.RolloutId is not null));
            var outcome = await s.FollowCanaryAsync(Endpoint, started.RolloutId!.Value, ct);
            var promotedAt = Now();
            rate = Rate;
            s.Say($"canary {outcome.Outcome} after {(outcome.EndedAt - outcome.StartedAt).TotalSeconds:0} s (stream at {Fmt.Time(promotedAt)})");
            if (outcome.Outcome != "promoted")
                throw new CliError($"the canary of {retrained} was {outcome.Outcome}, not promoted: {outcome.Reason} (./emo endpoints show {Endpoint})");

            s.Step($"the stream goes on with {retrained}: its drift windows against its own (recalibrated) training data");
            var after = s.Quick ? 1 : 2;
            await UntilAsync($"{after} drift window(s) of {retrained}", async () =>
                (await WindowsAsync()).Windows.Count(w => w.Version == v2 && w.WindowStart >= outcome.EndedAt - TimeSpan.FromSeconds(1)) >= after ? "done" : null);
            await stop.CancelAsync();
            try { await sending; } catch (OperationCanceledException) when (!ct.IsCancellationRequested) { }
            var end = Now();
            var state = await s.EndpointAsync(Endpoint, ct);
            s.Say($"{Interlocked.Read(ref sent):N0} readings sent in {clock.Elapsed.TotalSeconds:0} s; open drift alarms now: {state.Drift?.OpenAlarms.Count ?? 0} "
                + $"(v{alarm.Version}'s ended when it stopped serving)");
            return new Phases(recalibratedAt, alarmAt, promotedAt, end, retrained.ToString(), outcome.Outcome, $"{Interlocked.Read(ref sent):N0} readings over the bus");
        }
        finally
        {
            await stop.CancelAsync();
            try { await sending; } catch (Exception) when (!ct.IsCancellationRequested) { }
        }
    }

    /// <summary>The alarm episodes the replica raised, phase by phase, against the faults injected into the stream: a fault
    /// is caught when an episode's windows overlap it; an episode overlapping no fault is a false alarm.</summary>
    private static async Task ReportEpisodesAsync(DemoStage s, Stream stream, Phases p, CancellationToken ct)
    {
        await Task.Delay(TimeSpan.FromSeconds(2), ct); // the replica's last facts are on their way
        var episodes = new List<AnomalyEpisode>();
        for (List<AnomalyEpisode> page; (page = await s.Olivia.GetAsync<List<AnomalyEpisode>>($"/api/alarms?endpoint={Endpoint}&limit=1000&offset={episodes.Count}", ct)).Count > 0;)
            episodes.AddRange(page);
        var faults = stream.Readings.Where(r => r.Time <= p.End).GroupBy(r => r.Machine).SelectMany(Faults).ToList();
        s.Step($"anomaly alarm episodes ({episodes.Count}) against the {faults.Count} faults injected into the part of the stream sent");
        var table = new Table("phase (event time)", "served by", "faults", "caught", "episodes", "false alarms");
        foreach (var (name, by, from, to) in new[]
                 {
                     ("before the recalibration", "v1", stream.Start, p.RecalibratedAt),
                     ("recalibrated, before the retrained version", "v1 (then the canary)", p.RecalibratedAt, p.PromotedAt ?? p.End),
                     ("after the promotion", p.Retrained, p.PromotedAt ?? p.End, p.End),
                 })
        {
            var inPhase = faults.Where(f => f.From >= from && f.From < to).ToList();
            var raised = episodes.Where(e => e.WindowStart >= from && e.WindowStart < to).ToList();
            bool Overlaps(AnomalyEpisode e, (string Machine, DateTimeOffset From, DateTimeOffset To) f) =>
                e.Machine == f.Machine && e.WindowStart <= f.To && (e.ClearedWindowEnd ?? e.WindowEnd) >= f.From;
            table.Row(name, by, inPhase.Count, inPhase.Count(f => episodes.Any(e => Overlaps(e, f))), raised.Count, raised.Count(e => !faults.Any(f => Overlaps(e, f))));
        }
        table.WriteTo(s.Out, indent: "    ");
        s.Say($"(./emo alarms --endpoint {Endpoint} lists them; ./emo drift {Endpoint} shows the windows; ./emo lineage --endpoint {Endpoint} the chain alarm → run → version → rollout)");
    }

    /// <summary>A machine's injected faults: runs of readings labelled with the same kind.</summary>
    private static IEnumerable<(string Machine, DateTimeOffset From, DateTimeOffset To)> Faults(IGrouping<string, Labelled> machine)
    {
        Labelled? first = null, last = null;
        foreach (var r in machine.Append(new Labelled(machine.Key, DateTimeOffset.MaxValue, null)))
        {
            if (first is not null && r.Label != first.Label)
            {
                yield return (machine.Key, first.Time, last!.Time);
                first = null;
            }
            if (first is null && r.Label is not null) first = r;
            last = r;
        }
    }
}
