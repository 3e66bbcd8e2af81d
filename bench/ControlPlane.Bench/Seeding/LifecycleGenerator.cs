using EventMlOps.Contracts;
using EventMlOps.Contracts.Datasets;
using EventMlOps.Contracts.Drift;
using EventMlOps.Contracts.Endpoints;
using EventMlOps.Contracts.Registry;
using EventMlOps.Contracts.Training;
using EventMlOps.ControlPlane.Commanding;
using EventMlOps.ControlPlane.Datasets;
using EventMlOps.ControlPlane.Drift;
using EventMlOps.ControlPlane.Endpoints;
using EventMlOps.ControlPlane.Registry;
using EventMlOps.ControlPlane.Training;

namespace EventMlOps.ControlPlane.Bench.Seeding;

/// <summary>One event as it would have been appended: the product's event record, its business time
/// (also the stored timestamp), the actor, and the correlation/causation of the command that caused it.</summary>
public sealed record SeedEvent(object Data, DateTimeOffset At, string Actor, string CorrelationId, string CausationId);

public sealed record SeedStream(string Key, Type Aggregate, List<SeedEvent> Events);

/// <summary>Everything one model went through, as per-stream event lists in dependency order
/// (datasets, runs, versions, endpoints), so that any prefix of the global sequence is consistent.</summary>
public sealed record SeedUnit(int Index, string Model, IReadOnlyList<SeedStream> Streams)
{
    public int EventCount => Streams.Sum(s => s.Events.Count);
}

/// <summary>
/// Deterministic generator of realistic model lifecycles (unit <c>i</c> always yields the same history):
/// a model gets 1-4 dataset versions; each dataset gets 3-12 training runs of 10-50 epochs (85 % succeed,
/// 10 % fail, 5 % are cancelled); the best run of a dataset (sometimes a second one) becomes a model version,
/// is approved by an approver, staged, rolled out to the model's endpoint(s) (immediately the first time,
/// then as a canary with analysis steps, 12 % aborted, 5 % rolled back afterwards), promoted to Production
/// and given the "champion" alias; versions that no longer serve are archived; the serving endpoints get
/// drift measurements every 1-3 days. History starts 120-400 days ago and ends before now.
/// </summary>
public static class LifecycleGenerator
{
    private static readonly string[] Families = ["recsys", "churn", "fraud", "ranking", "forecast", "pricing", "search", "ctr", "eta", "intent"];
    private static readonly string[] Trainers = ["lightgbm", "xgboost", "pytorch", "sklearn", "implicit-als"];
    private static readonly string[] Scientists = ["alice", "amir", "bea", "chen", "dara", "emil", "fatima", "goran"];
    private static readonly string[] Approvers = ["bob", "bianca", "hiro", "ines"];
    private static readonly string[] Operators = ["olga", "oscar", "pia"];
    private static readonly string[] Features = ["user_tenure_days", "sessions_7d", "avg_basket_value", "device_type", "country"];
    private const string TrainingAgent = "training-agent", RolloutAgent = "rollout-agent", ServingAgent = "serving-agent", DriftAgent = "drift-agent";

    public static string ModelName(int index) => $"{Families[index % Families.Length]}-{index:D6}";

    public static SeedUnit Generate(int index, DateTimeOffset now)
    {
        var rng = new Random(index * 7919 + 17);
        var model = ModelName(index);
        var start = now - TimeSpan.FromDays(120 + rng.NextDouble() * 280);
        var t = new Timeline(rng, start);
        var owner = Pick(rng, Scientists);
        var trainer = Pick(rng, Trainers);
        var endpoints = new List<EndpointSim> { new($"{model}-prod") };
        if (rng.NextDouble() < 0.2) endpoints.Add(new($"{model}-eu"));
        var versions = new List<VersionSim>();
        var datasets = rng.Next(1, 5);

        for (var d = 1; d <= datasets; d++)
        {
            // Archive what no longer serves before a new cycle (never a version an endpoint could roll back to).
            foreach (var v in versions.Where(v => v.Stage is ModelStage.Staging or ModelStage.Production
                         && endpoints.All(e => e.Serving != v.Number && e.Previous != v.Number)))
            {
                t.Advance(TimeSpan.FromMinutes(5), TimeSpan.FromHours(4));
                var by = Pick(rng, Approvers);
                Registry(t, v, by, new ModelVersionStageChanged(model, v.Number, v.Stage, ModelStage.Archived, by, t.Clock));
                v.Stage = ModelStage.Archived;
            }

            // A dataset version.
            var dataset = new DatasetSim(t.NewGuid(), t.NewSha256(), $"s3://datasets/{model}/v{d}/data.parquet");
            {
                var (c, k) = t.Command();
                t.Add(StreamKeys.Dataset(dataset.Id), typeof(Dataset), owner, c, k, new DatasetRegistered(dataset.Id, $"{model}-data", dataset.Uri,
                    dataset.Sha256, "parquet", rng.Next(50_000, 50_000_000),
                    [new DatasetColumn("user_id", "int64"), new DatasetColumn("item_id", "int64"), new DatasetColumn("label", "float32"), new DatasetColumn("ts", "timestamp")],
                    owner, t.Clock));
            }

            // Training runs on it.
            var succeeded = new List<RunSim>();
            var runs = rng.Next(3, 13);
            for (var r = 0; r < runs; r++)
            {
                t.Advance(TimeSpan.FromMinutes(5), TimeSpan.FromHours(4));
                var mustSucceed = d == 1 && r == runs - 1 && succeeded.Count == 0; // every model gets at least one version
                if (Train(t, rng, model, trainer, dataset, Pick(rng, Scientists), mustSucceed) is { } run)
                    succeeded.Add(run);
            }
            if (succeeded.Count == 0) continue;

            // The best run (and now and then another one) becomes a model version.
            var best = succeeded.MaxBy(r => r.Quality)!;
            var registered = new List<RunSim> { best };
            if (succeeded.Count > 1 && rng.NextDouble() < 0.3)
                registered.Add(succeeded.Where(r => r != best).ElementAt(rng.Next(succeeded.Count - 1)));
            VersionSim? candidate = null;
            foreach (var run in registered)
            {
                t.Advance(TimeSpan.FromMinutes(10), TimeSpan.FromHours(2));
                var number = versions.Count + 1;
                var v = new VersionSim(number, StreamKeys.ModelVersion(model, number), run.ArtifactUri, run.ArtifactSha256, owner);
                var (c, k) = t.Command();
                t.Add(v.Key, typeof(ModelVersion), owner, c, k, new ModelVersionRegistered(model, number, run.Id, new ModelArtifact(run.ArtifactUri, run.ArtifactSha256),
                    dataset.Id, dataset.Sha256, run.Metrics, owner, t.Clock));
                t.Add(StreamKeys.Run(run.Id), typeof(TrainingRun), owner, c, k, new TrainingRunRegistered(run.Id, model, number, t.Clock));
                versions.Add(v);
                candidate ??= v;
            }

            // Review: approval by someone other than the registrant, then Staging.
            var c0 = candidate!;
            var approver = Pick(rng, Approvers);
            t.Advance(TimeSpan.FromHours(1), TimeSpan.FromHours(30));
            Registry(t, c0, approver, new ModelVersionApproved(model, c0.Number, approver, "offline metrics and bias report reviewed", t.Clock));
            t.Advance(TimeSpan.FromMinutes(1), TimeSpan.FromMinutes(30));
            Registry(t, c0, approver, new ModelVersionStageChanged(model, c0.Number, ModelStage.None, ModelStage.Staging, approver, t.Clock));
            c0.Stage = ModelStage.Staging;

            // Rollout to every endpoint of the model; an aborted canary stops there.
            var promoted = true;
            foreach (var e in endpoints)
            {
                t.Advance(TimeSpan.FromHours(1), TimeSpan.FromHours(48));
                if (!e.Created)
                {
                    var (c, k) = t.Command();
                    var op = Pick(rng, Operators);
                    t.Add(e.Key, typeof(EndpointState), op, c, k, new EndpointCreated(e.Name, model, 1, rng.Next(2, 9), op, t.Clock));
                    e.Created = true;
                }
                promoted = RollOut(t, rng, model, e, c0);
                if (!promoted) break;
            }
            if (!promoted) continue;

            // In Production and champion: the alias moves from the previous holder in one command.
            t.Advance(TimeSpan.FromMinutes(10), TimeSpan.FromHours(6));
            Registry(t, c0, approver, new ModelVersionStageChanged(model, c0.Number, ModelStage.Staging, ModelStage.Production, approver, t.Clock));
            c0.Stage = ModelStage.Production;
            t.Advance(TimeSpan.FromMinutes(1), TimeSpan.FromMinutes(30));
            {
                var (c, k) = t.Command();
                if (versions.FirstOrDefault(v => v.Champion) is { } holder)
                {
                    t.Add(holder.Key, typeof(ModelVersion), owner, c, k, new ModelVersionAliasRemoved(model, holder.Number, "champion", owner, t.Clock));
                    holder.Champion = false;
                }
                t.Add(c0.Key, typeof(ModelVersion), owner, c, k, new ModelVersionAliasSet(model, c0.Number, "champion", owner, t.Clock));
                c0.Champion = true;
            }

            // Now and then production disagrees with the canary: back to the previous version.
            foreach (var e in endpoints.Where(e => e.Previous is not null && rng.NextDouble() < 0.05))
            {
                t.Advance(TimeSpan.FromHours(2), TimeSpan.FromDays(3));
                var to = versions[e.Previous!.Value - 1];
                var (c, k) = t.Command();
                var op = Pick(rng, Operators);
                t.Add(e.Key, typeof(EndpointState), op, c, k, new EndpointRolledBack(e.Name, e.Serving!.Value, to.Number, to.ArtifactUri, to.ArtifactSha256,
                    "p95 latency regression in production", op, t.Clock));
                (e.Serving, e.Previous) = (to.Number, e.Serving);
                Observed(t, rng, e);
            }

            // Drift monitoring until the next dataset version (or until now, after the last one).
            var until = d < datasets ? t.Clock + TimeSpan.FromDays(5 + rng.NextDouble() * 25) : now - TimeSpan.FromHours(1);
            var budget = d < datasets ? int.MaxValue : 150;
            foreach (var e in endpoints.Where(e => e.Serving is not null))
                Drift(t.Fork(), rng, model, e, until, budget);
            t.Clock = until;
        }
        return new SeedUnit(index, model, t.Streams);
    }

    private static RunSim? Train(Timeline t, Random rng, string model, string trainer, DatasetSim dataset, string scientist, bool mustSucceed)
    {
        var id = t.NewGuid();
        var key = StreamKeys.Run(id);
        var epochs = rng.Next(10, 51);
        var hyper = new Dictionary<string, double>
        {
            ["epochs"] = epochs,
            ["learning_rate"] = Math.Round(Math.Pow(10, -1 - rng.NextDouble() * 3), 6),
            ["batch_size"] = 1 << rng.Next(5, 11),
            ["embedding_dim"] = 1 << rng.Next(4, 9),
        };
        var (c, k) = t.Command();
        t.Add(key, typeof(TrainingRun), scientist, c, k, new TrainingRunRequested(id, model, trainer, dataset.Id, dataset.Uri, dataset.Sha256, hyper,
            new TrainingResources(rng.Next(1, 17), 1024 * rng.Next(2, 65), rng.Next(0, 3)), $"git:{t.NewSha256()[..12]}", scientist, t.Clock));
        t.Advance(TimeSpan.FromSeconds(1), TimeSpan.FromSeconds(20));
        Fact(t, key, new TrainingRunSubmitted(id, $"train-{id:N}", "kubernetes", t.Clock));
        t.Advance(TimeSpan.FromSeconds(10), TimeSpan.FromMinutes(5));
        Fact(t, key, new TrainingRunStarted(id, t.Clock));

        var outcome = mustSucceed ? 1.0 : rng.NextDouble();
        var last = outcome < 0.15 ? rng.Next(1, epochs + 1) : epochs;
        var quality = 0.3 + rng.NextDouble() * 0.5;
        var tau = 3 + rng.NextDouble() * 10;
        var metrics = new Dictionary<string, double>();
        for (var epoch = 1; epoch <= last; epoch++)
        {
            t.Advance(TimeSpan.FromSeconds(30), TimeSpan.FromMinutes(5));
            var progress = 1 - Math.Exp(-epoch / tau);
            metrics = new Dictionary<string, double>
            {
                ["loss"] = Math.Round(1.5 * (1 - progress) + 0.05 + rng.NextDouble() * 0.02, 4),
                ["val_loss"] = Math.Round(1.6 * (1 - progress) + 0.08 + rng.NextDouble() * 0.04, 4),
                ["hr@10"] = Math.Round(quality * progress, 4),
                ["ndcg@10"] = Math.Round(quality * progress * 0.6, 4),
            };
            Fact(t, key, new TrainingEpochCompleted(id, epoch, metrics, t.Clock));
        }
        t.Advance(TimeSpan.FromSeconds(5), TimeSpan.FromMinutes(2));
        if (outcome < 0.05)
        {
            var (cc, ck) = t.Command();
            t.Add(key, typeof(TrainingRun), scientist, cc, ck, new TrainingRunCancelled(id, "superseded by a newer run", scientist, t.Clock));
            return null;
        }
        if (outcome < 0.15)
        {
            Fact(t, key, rng.NextDouble() < 0.5
                ? new TrainingRunFailed(id, "OOMKilled: container exceeded its memory limit", 137, t.Clock)
                : new TrainingRunFailed(id, "loss became NaN", 1, t.Clock));
            return null;
        }
        var artifact = t.NewSha256();
        var final = new Dictionary<string, double> { ["hr@10"] = metrics["hr@10"], ["ndcg@10"] = metrics["ndcg@10"], ["val_loss"] = metrics["val_loss"] };
        var uri = $"s3://artifacts/{model}/{id:N}/model.onnx";
        Fact(t, key, new TrainingRunSucceeded(id, uri, artifact, final, t.Clock));
        return new RunSim(id, uri, artifact, final, quality);
    }

    /// <summary>First rollout: immediate. Later ones: a canary with analysis at each step. Returns whether it was promoted.</summary>
    private static bool RollOut(Timeline t, Random rng, string model, EndpointSim e, VersionSim v)
    {
        var op = Pick(rng, Operators);
        var (c, rolloutId) = t.CommandIds();
        if (e.Serving is null)
        {
            t.Add(e.Key, typeof(EndpointState), op, c, rolloutId.ToString(), new RolloutStarted(e.Name, rolloutId, model, v.Number, v.ArtifactUri, v.ArtifactSha256,
                RolloutKind.Immediate, [], null, op, t.Clock));
            t.Add(e.Key, typeof(EndpointState), op, c, rolloutId.ToString(), new RolloutPromoted(e.Name, rolloutId, v.Number, op, t.Clock));
            e.Revision++;
            (e.Serving, e.Previous) = (v.Number, e.Serving);
            Observed(t, rng, e);
            return true;
        }

        CanaryStep[] steps = rng.Next(3) switch
        {
            0 => [new(10, 900), new(50, 1800)],
            1 => [new(5, 600), new(25, 1200), new(50, 1800)],
            _ => [new(20, 3600)],
        };
        var abortAt = rng.NextDouble() < 0.12 ? rng.Next(steps.Length) : -1;
        t.Add(e.Key, typeof(EndpointState), op, c, rolloutId.ToString(), new RolloutStarted(e.Name, rolloutId, model, v.Number, v.ArtifactUri, v.ArtifactSha256,
            RolloutKind.Canary, steps, e.Serving, op, t.Clock));
        e.Revision++;
        Observed(t, rng, e);
        for (var step = 0; step < steps.Length; step++)
        {
            t.Advance(TimeSpan.FromSeconds(steps[step].BakeSeconds), TimeSpan.FromSeconds(steps[step].BakeSeconds + 120));
            var requests = rng.Next(2_000, 200_000);
            var canary = new VersionMetrics(requests * steps[step].Weight / 100, step == abortAt ? requests / 20 : rng.Next(0, 40), Math.Round(20 + rng.NextDouble() * 60, 1));
            var stable = new VersionMetrics(requests * (100 - steps[step].Weight) / 100, rng.Next(0, 60), Math.Round(20 + rng.NextDouble() * 60, 1));
            var breach = step == abortAt ? "canary error rate 5.0 % > 1.0 %" : null;
            Fact(t, e.Key, new RolloutAnalysisRecorded(e.Name, rolloutId, step, canary, stable, breach is null ? "healthy" : "breach", breach, t.Clock), RolloutAgent);
            t.Advance(TimeSpan.FromSeconds(1), TimeSpan.FromSeconds(30));
            if (breach is not null)
            {
                Fact(t, e.Key, new CanaryRolledBack(e.Name, rolloutId, v.Number, breach, RolloutAgent, t.Clock), RolloutAgent);
                e.Revision++;
                Observed(t, rng, e);
                return false;
            }
            if (step < steps.Length - 1)
                Fact(t, e.Key, new RolloutStepAdvanced(e.Name, rolloutId, step + 1, steps[step + 1].Weight, t.Clock), RolloutAgent);
            else
            {
                Fact(t, e.Key, new RolloutPromoted(e.Name, rolloutId, v.Number, RolloutAgent, t.Clock), RolloutAgent);
                (e.Serving, e.Previous) = (v.Number, e.Serving);
            }
            e.Revision++;
            Observed(t, rng, e);
        }
        return true;
    }

    private static void Observed(Timeline t, Random rng, EndpointSim e)
    {
        t.Advance(TimeSpan.FromSeconds(20), TimeSpan.FromMinutes(3));
        Fact(t, e.Key, new EndpointStateObserved(e.Name, e.Revision, true, null, t.Clock), ServingAgent);
    }

    private static void Drift(Timeline t, Random rng, string model, EndpointSim e, DateTimeOffset until, int budget)
    {
        for (var n = 0; n < budget; n++)
        {
            var next = t.Clock + TimeSpan.FromHours(24 + rng.NextDouble() * 48);
            if (next >= until) return;
            t.Clock = next;
            var scores = Features.Select(f => Math.Round(Math.Pow(rng.NextDouble(), 3) * 0.3, 4))
                .Select((s, i) => new FeatureJudgement(Features[i], FeatureRole.Input, DriftMethod.Wasserstein, s, 0.1, s >= 0.1, 500)).ToList();
            Fact(t, e.Key, new EndpointDriftMeasured(e.Name, model, e.Serving!.Value, t.Clock - TimeSpan.FromMinutes(5), t.Clock, 500, scores,
                scores.Count(s => s.Drifted) * 2 >= scores.Count, DriftAgent, t.Clock), DriftAgent);
        }
    }

    private static void Registry(Timeline t, VersionSim v, string actor, object e)
    {
        var (c, k) = t.Command();
        t.Add(v.Key, typeof(ModelVersion), actor, c, k, e);
    }

    private static void Fact(Timeline t, string stream, object e, string agent = TrainingAgent)
    {
        var (c, k) = t.Command();
        t.Add(stream, AggregateOf(stream), agent, c, k, e);
    }

    private static Type AggregateOf(string stream) => stream.Split(':')[0] switch
    {
        "dataset" => typeof(Dataset),
        "run" => typeof(TrainingRun),
        "model" => typeof(ModelVersion),
        _ => typeof(EndpointState),
    };

    private static T Pick<T>(Random rng, T[] items) => items[rng.Next(items.Length)];

    private sealed record DatasetSim(Guid Id, string Sha256, string Uri);

    private sealed record RunSim(Guid Id, string ArtifactUri, string ArtifactSha256, IReadOnlyDictionary<string, double> Metrics, double Quality);

    private sealed class VersionSim(int number, string key, string artifactUri, string artifactSha256, string registeredBy)
    {
        public int Number { get; } = number;
        public string Key { get; } = key;
        public string ArtifactUri { get; } = artifactUri;
        public string ArtifactSha256 { get; } = artifactSha256;
        public string RegisteredBy { get; } = registeredBy;
        public ModelStage Stage { get; set; }
        public bool Champion { get; set; }
    }

    private sealed class EndpointSim(string name)
    {
        public string Name { get; } = name;
        public string Key { get; } = StreamKeys.Endpoint(name);
        public bool Created { get; set; }
        public long Revision { get; set; }
        public int? Serving { get; set; }
        public int? Previous { get; set; }
    }

    /// <summary>The unit's clock and its streams; streams are kept in dependency order (datasets, runs, versions, endpoints).</summary>
    private sealed class Timeline(Random rng, DateTimeOffset start, Dictionary<string, SeedStream>? streams = null)
    {
        private readonly Dictionary<string, SeedStream> _streams = streams ?? [];

        public DateTimeOffset Clock { get; set; } = start;

        public IReadOnlyList<SeedStream> Streams =>
            [.. _streams.Values.OrderBy(s => Array.IndexOf(["dataset", "run", "model", "endpoint"], s.Key.Split(':')[0]))];

        /// <summary>A second clock over the same streams (drift of several endpoints runs in parallel).</summary>
        public Timeline Fork() => new(rng, Clock, _streams);

        public void Advance(TimeSpan min, TimeSpan max) =>
            Clock += TimeSpan.FromMilliseconds(Math.Round((min + (max - min) * rng.NextDouble()).TotalMilliseconds));

        public void Add(string stream, Type aggregate, string actor, string correlation, string causation, object e)
        {
            if (!_streams.TryGetValue(stream, out var s))
                _streams[stream] = s = new SeedStream(stream, aggregate, []);
            s.Events.Add(new SeedEvent(e, Clock, actor, correlation, causation));
        }

        /// <summary>Correlation id (the envelope id) and causation id (the command id) of one command.</summary>
        public (string Correlation, string Causation) Command() => (NewGuid().ToString(), NewGuid().ToString());

        public (string Correlation, Guid CommandId) CommandIds() => (NewGuid().ToString(), NewGuid());

        public Guid NewGuid()
        {
            Span<byte> b = stackalloc byte[16];
            rng.NextBytes(b);
            b[7] = (byte)((b[7] & 0x0F) | 0x40);
            b[8] = (byte)((b[8] & 0x3F) | 0x80);
            return new Guid(b);
        }

        public string NewSha256()
        {
            Span<byte> b = stackalloc byte[32];
            rng.NextBytes(b);
            return Convert.ToHexStringLower(b);
        }
    }
}
