using System.Text.Json;
using EventMlOps.Contracts;
using EventMlOps.Contracts.Datasets;
using EventMlOps.Contracts.Drift;
using EventMlOps.Contracts.Endpoints;
using EventMlOps.Contracts.Registry;
using EventMlOps.Contracts.Training;
using EventMlOps.Contracts.Views;
using EventMlOps.ControlPlane.Drift;
using EventMlOps.ControlPlane.Endpoints;
using EventMlOps.ControlPlane.Registry;
using EventMlOps.ControlPlane.Tests.Lineage;
using EventMlOps.ControlPlane.Tests.Testing;
using EventMlOps.ControlPlane.Training;
using Marten;

namespace EventMlOps.ControlPlane.Tests.Drift;

/// <summary>The closed loop through the real host: a policy set over HTTP, a drift alarm given on the endpoint's stream, the
/// retraining run's facts reported as its agent would, the version registered by the registration policy, approved by another
/// person, and the policy's canary started on the endpoint — each step caused by the one before.</summary>
public sealed class ClosedLoopTests(ControlPlaneFixture fx)
{
    private static readonly RolloutStrategy Canary = new(RolloutKind.Canary, [new CanaryStep(10, 60), new CanaryStep(50, 60)]);
    private static readonly Dictionary<string, double> Good = new() { ["hr@10"] = 0.6, ["baseline_hr@10"] = 0.3 };

    /// <summary>paula sets the policy: an operator and scientist (the roles its loop acts with) who may also approve — and still
    /// may not approve what her policy trained.</summary>
    private HttpClient Paula => fx.Client(fx.Tokens.Issue("paula", [Roles.Operator, Roles.Scientist, Roles.Approver], TimeSpan.FromHours(1)));

    /// <summary>olga operates and may train: what a retraining policy without a rollout acts with, and more.</summary>
    private HttpClient Olga => fx.Client(fx.Tokens.Issue("olga", [Roles.Operator, Roles.Scientist], TimeSpan.FromHours(1)));

    /// <summary>A model serving version 1 (auto-registered, approved by bob, rolled out at once) on the scenario's endpoint, and
    /// a second dataset of a name of its own: the new data retraining is to use.</summary>
    private async Task<(Scenario S, string DatasetName, Guid NewData)> ServingAsync(string model)
    {
        var s = new Scenario(fx, model);
        await s.RegisterDataset();
        var first = await s.TrainedRun(Good);
        (await Registered(s, first)).ShouldBe(1);
        (await s.Operator.Send("/api/endpoints", new CreateEndpoint(Guid.NewGuid(), s.Endpoint, model, 1, 3))).EnsureSuccessStatusCode();
        (await s.RollOut(1)).EnsureSuccessStatusCode();
        var name = "fresh-" + Guid.NewGuid().ToString("N")[..8];
        var newData = Guid.NewGuid();
        (await s.Scientist.Send("/api/datasets", new RegisterDataset(Guid.NewGuid(), newData, name, "file:///data/u2.data",
            Convert.ToHexStringLower(System.Security.Cryptography.SHA256.HashData(newData.ToByteArray())), "movielens-udata", 1000, []))).EnsureSuccessStatusCode();
        return (s, name, newData);
    }

    private static async Task<int?> Registered(Scenario s, Guid run)
    {
        TrainingRunView? view = null;
        await LifecycleTests.Eventually(async () => (view = await s.Viewer.Get<TrainingRunView>($"/api/runs/{run}")).RegisteredVersion is not null);
        return view!.RegisteredVersion;
    }

    /// <summary>The given: the drift slice raised an alarm on the endpoint while it served version 1 — appended as its
    /// handler does, through <c>FetchForWriting</c>: a blind append (Marten's quick append mode) would leave the inline
    /// snapshot's stream version 0, unlike its rebuild.</summary>
    private async Task<Guid> DriftDetectedAsync(Scenario s, Guid alarmId)
    {
        await using var session = fx.Store.LightweightSession();
        var endpoint = await session.Events.FetchForWriting<EndpointState>(StreamKeys.Endpoint(s.Endpoint));
        endpoint.AppendOne(new DriftDetected(s.Endpoint, s.Model, 1, alarmId,
            [new FeatureJudgement("user", FeatureRole.Input, DriftMethod.Psi, 0.4, 0.2, true, 500)], DateTimeOffset.UtcNow.AddMinutes(-10),
            DateTimeOffset.UtcNow, 2, "drift-agent", DateTimeOffset.UtcNow));
        await session.SaveChangesAsync();
        var events = await session.Events.FetchStreamAsync(StreamKeys.Endpoint(s.Endpoint));
        return events.Last(e => e.Data is DriftDetected).Id;
    }

    private async Task<TrainingRunView> RetrainingRunAsync(Scenario s, Guid alarmId)
    {
        var runId = RetrainingDecisions.RunId(alarmId);
        (await LifecycleTests.Eventually(async () => (await s.Viewer.GetAsync($"/api/runs/{runId}")).IsSuccessStatusCode))
            .ShouldBeTrue("the alarm requested a run");
        return await s.Viewer.Get<TrainingRunView>($"/api/runs/{runId}");
    }

    private static async Task SucceedAsync(Scenario s, Guid run)
    {
        await s.Fact("/api/runs/facts/submitted", new JobSubmittedReport(Guid.NewGuid(), run, $"train-{run:N}", "local"));
        await s.Fact("/api/runs/facts/succeeded", new TrainingSucceededReport(Guid.NewGuid(), run, $"file:///artifacts/{run:N}.onnx",
            Convert.ToHexStringLower(System.Security.Cryptography.SHA256.HashData(run.ToByteArray())), Good));
    }

    private static async Task<RetrainingLoopView> LoopAsync(Scenario s, Guid alarmId, string state)
    {
        RetrainingLoopView? loop = null;
        await LifecycleTests.Eventually(async () =>
            (loop = (await s.Viewer.Get<ModelPolicyView>($"/api/models/{s.Model}/policy")).Loops.FirstOrDefault(l => l.AlarmId == alarmId))?.State == state);
        loop.ShouldNotBeNull().State.ShouldBe(state, loop.Detail);
        return loop;
    }

    [Fact]
    public async Task Given_a_policy_that_retrains_with_a_canary_When_drift_is_detected_twice_Then_one_run_by_the_author_leads_after_anothers_approval_to_a_canary()
    {
        var (s, datasetName, newData) = await ServingAsync(AutoRegistered.LoopCanary);
        (await Paula.Send("/api/models/policy", new SetModelPolicy(Guid.NewGuid(), s.Model, new DriftPolicy(DriftShare: 0.3),
            new RetrainingPolicy(datasetName, Canary)))).EnsureSuccessStatusCode();
        var alarmId = Guid.NewGuid();

        var alarmEvent = await DriftDetectedAsync(s, alarmId);
        await DriftDetectedAsync(s, alarmId); // the same alarm delivered again

        var run = await RetrainingRunAsync(s, alarmId);
        run.RequestedBy.ShouldBe("paula");
        run.Trigger.ShouldBe(new DriftTrigger(alarmId, s.Endpoint, 1));
        run.DatasetId.ShouldBe(newData);
        run.TrainerKind.ShouldBe("recommender");
        run.Hyperparameters.OrderBy(h => h.Key).ShouldBe(s.Request().Hyperparameters.OrderBy(h => h.Key));
        await using (var session = fx.Store.QuerySession())
        {
            var requested = (await session.Events.FetchStreamAsync(StreamKeys.Run(run.RunId))).ShouldHaveSingleItem();
            requested.CausationId.ShouldBe(alarmEvent.ToString());
            requested.UserName.ShouldBe("paula");
            (await session.Query<TrainingRun>().CountAsync(r => r.ModelName == s.Model)).ShouldBe(2, "the first run and one retraining run");
        }
        await LoopAsync(s, alarmId, RetrainingStates.RunRequested);

        await SucceedAsync(s, run.RunId);
        (await Registered(s, run.RunId)).ShouldBe(2);
        (await LoopAsync(s, alarmId, RetrainingStates.WaitingForApproval)).Detail!.ShouldContain("paula");

        var own = await Paula.Send("/api/models/versions/approve", new ApproveModelVersion(Guid.NewGuid(), s.Model, 2));
        (await own.Problem(422)).GetProperty("detail").GetString()!.ShouldContain("four-eyes rule: paula requested the run behind");
        await s.Approve(2);

        var loop = await LoopAsync(s, alarmId, RetrainingStates.RolloutStarted);
        var endpoint = await s.Viewer.Get<JsonElement>($"/api/endpoints/{s.Endpoint}");
        var rollout = endpoint.GetProperty("rollout");
        rollout.GetProperty("version").GetInt32().ShouldBe(2);
        rollout.GetProperty("kind").GetString().ShouldBe("Canary");
        rollout.GetProperty("startedBy").GetString().ShouldBe("paula");
        rollout.GetProperty("rolloutId").GetGuid().ShouldBe(loop.RolloutId!.Value);
        await using (var session = fx.Store.QuerySession())
        {
            var approval = (await session.Events.FetchStreamAsync(StreamKeys.ModelVersion(s.Model, 2))).Last(e => e.Data is ModelVersionApproved);
            var started = (await session.Events.FetchStreamAsync(StreamKeys.Endpoint(s.Endpoint))).Last(e => e.Data is ControlPlane.Endpoints.RolloutStarted);
            started.CausationId.ShouldBe(approval.Id.ToString());
            started.Id.ShouldNotBe(approval.Id);
        }
        var lineage = await s.Viewer.Get<ModelLineage>($"/api/lineage/models/{s.Model}/2");
        lineage.Run!.Trigger.ShouldBe(new DriftTrigger(alarmId, s.Endpoint, 1));
        lineage.Endpoints.ShouldContain(e => e.Endpoint == s.Endpoint && e.To == null);
    }

    [Fact]
    public async Task Given_a_policy_without_a_rollout_When_the_retrained_version_is_approved_Then_nothing_rolls_out_and_the_loop_says_so()
    {
        var (s, datasetName, _) = await ServingAsync(AutoRegistered.LoopManual);
        (await Olga.Send("/api/models/policy", new SetModelPolicy(Guid.NewGuid(), s.Model, null, new RetrainingPolicy(datasetName)))).EnsureSuccessStatusCode();
        var alarmId = Guid.NewGuid();
        await DriftDetectedAsync(s, alarmId);
        var run = await RetrainingRunAsync(s, alarmId);
        run.RequestedBy.ShouldBe("olga");
        await SucceedAsync(s, run.RunId);
        (await Registered(s, run.RunId)).ShouldBe(2);

        await s.Approve(2);
        await CaughtUpAsync();

        (await LoopAsync(s, alarmId, RetrainingStates.Approved)).Detail!.ShouldContain("an operator rolls it out");
        var endpoint = await s.Viewer.Get<JsonElement>($"/api/endpoints/{s.Endpoint}");
        endpoint.GetProperty("rollout").ValueKind.ShouldBe(JsonValueKind.Null);
        endpoint.GetProperty("traffic").EnumerateArray().ShouldHaveSingleItem().GetProperty("version").GetInt32().ShouldBe(1);
    }

    /// <summary>The work-orders subscription has handled every event appended so far.</summary>
    private async Task CaughtUpAsync()
    {
        var last = (await fx.Store.Advanced.FetchEventStoreStatistics()).EventSequenceNumber;
        (await LifecycleTests.Eventually(async () =>
            (await fx.Store.Advanced.AllProjectionProgress()).Any(p => p.ShardName.StartsWith("work-orders", StringComparison.Ordinal) && p.Sequence >= last)))
            .ShouldBeTrue("the subscription caught up");
    }

    [Fact]
    public async Task Given_policies_over_http_When_set_read_and_set_again_Then_the_view_shows_it_the_same_policy_appends_nothing_and_bad_input_is_a_problem()
    {
        var s = new Scenario(fx);
        await s.RegisterDataset();
        await s.RegisteredVersion(await s.TrainedRun());
        var none = await s.Viewer.Get<ModelPolicyView>($"/api/models/{s.Model}/policy");
        none.SetBy.ShouldBeNull();
        none.Retraining.ShouldBeNull();
        none.Drift.DriftShare.ShouldBe(DriftPolicy.Default.DriftShare);

        var policy = new SetModelPolicy(Guid.NewGuid(), s.Model,
            new DriftPolicy(new Dictionary<string, DriftTest> { ["item"] = new(DriftMethod.ChiSquared, 0.01) }, 0.25, 1000, 60, 3, 4),
            new RetrainingPolicy("ratings", RolloutStrategy.Immediate));
        var forbidden = await (await s.Operator.Send("/api/models/policy", policy)).Problem(403);
        forbidden.GetProperty("detail").GetString()!.ShouldContain("olga lacks the role 'scientist'");
        (await (await Olga.Send("/api/models/policy", policy)).Read<CommandAccepted>()).Appended.ShouldBe(1);
        (await (await Olga.Send("/api/models/policy", policy with { CommandId = Guid.NewGuid() })).Read<CommandAccepted>()).Appended.ShouldBe(0);

        var shown = await s.Viewer.Get<ModelPolicyView>($"/api/models/{s.Model}/policy");
        shown.SetBy.ShouldBe("olga");
        shown.StreamVersion.ShouldBe(1);
        shown.Drift.WindowSamples.ShouldBe(1000);
        shown.Drift.Features!["item"].ShouldBe(new DriftTest(DriftMethod.ChiSquared, 0.01));
        JsonSerializer.Serialize(shown.Retraining).ShouldBe(JsonSerializer.Serialize(new RetrainingPolicy("ratings", RolloutStrategy.Immediate)));
        shown.Loops.ShouldBeEmpty();
        var audit = await s.Viewer.Get<JsonElement>($"/api/audit?stream={Uri.EscapeDataString(StreamKeys.ModelPolicy(s.Model))}");
        audit.EnumerateArray().ShouldHaveSingleItem().GetProperty("type").GetString()!.ShouldContain("model_policy_set");

        (await (await Olga.Send("/api/models/policy", policy with { CommandId = Guid.NewGuid(), Drift = new DriftPolicy(WindowSamples: 5) }))
            .Problem(400)).GetProperty("field").GetString().ShouldBe("drift.windowSamples");
        var unknown = await (await Olga.Send("/api/models/policy", policy with { CommandId = Guid.NewGuid(), Retraining = new RetrainingPolicy("no-such-data") }))
            .Problem(404);
        unknown.GetProperty("detail").GetString().ShouldBe("dataset 'no-such-data' does not exist");
        await (await Olga.Send("/api/models/policy", policy with { CommandId = Guid.NewGuid(), ModelName = "never-registered" })).Problem(404);
        await (await s.Scientist.Send("/api/models/policy", policy with { CommandId = Guid.NewGuid() })).Problem(403);
        (await (await s.Viewer.GetAsync($"/api/models/{new string('x', 300)}/policy")).Problem(404)).GetProperty("detail").GetString()!
            .ShouldContain("a value of 300 characters");
    }

    [Fact]
    public async Task Given_a_policy_read_at_a_version_When_another_change_lands_first_Then_a_write_expecting_that_version_is_a_conflict()
    {
        var s = new Scenario(fx);
        await s.RegisterDataset();
        await s.RegisteredVersion(await s.TrainedRun());
        var read = await s.Viewer.Get<ModelPolicyView>($"/api/models/{s.Model}/policy");
        read.StreamVersion.ShouldBe(0, "no policy set yet");
        (await (await s.Operator.Send("/api/models/policy", new SetModelPolicy(Guid.NewGuid(), s.Model, new DriftPolicy(DetectAfter: 3), null, read.StreamVersion)))
            .Read<CommandAccepted>()).Appended.ShouldBe(1);

        var stale = await (await s.Operator.Send("/api/models/policy", new SetModelPolicy(Guid.NewGuid(), s.Model, new DriftPolicy(ClearAfter: 5), null, read.StreamVersion)))
            .Problem(409);
        stale.GetProperty("currentVersion").GetInt64().ShouldBe(1);
        var shown = await s.Viewer.Get<ModelPolicyView>($"/api/models/{s.Model}/policy");
        shown.Drift.DetectAfter.ShouldBe(3, "the first change stays");
        shown.Drift.ClearAfter.ShouldBe(DriftPolicy.Default.ClearAfter);
        (await (await s.Operator.Send("/api/models/policy", new SetModelPolicy(Guid.NewGuid(), s.Model, new DriftPolicy(ClearAfter: 5), null, shown.StreamVersion)))
            .Read<CommandAccepted>()).Appended.ShouldBe(1);
    }
}
