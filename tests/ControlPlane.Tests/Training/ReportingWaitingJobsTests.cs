using System.Net;
using EventMlOps.Contracts;
using EventMlOps.Contracts.Training;
using EventMlOps.Contracts.Views;
using EventMlOps.ControlPlane.Tests.Testing;
using EventMlOps.ControlPlane.Training;

namespace EventMlOps.ControlPlane.Tests.Training;

/// <summary>A training agent reports why its run's job makes no progress (a cluster's pod reason) as it would over HTTP,
/// with the grant of the run's work order; the run's views show the reason while it holds.</summary>
public class ReportingWaitingJobsTests(ControlPlaneFixture fx)
{
    private static CancellationToken Ct => TestContext.Current.CancellationToken;

    private const string Unschedulable = "Unschedulable: 0/3 nodes are available: 3 Insufficient nvidia.com/gpu";

    [Fact]
    public async Task Given_a_submitted_run_When_its_agent_reports_the_job_waiting_again_and_cleared_Then_each_change_is_one_event_and_the_views_follow()
    {
        var s = new Scenario(fx);
        await s.RegisterDataset();
        var request = s.Request();
        (await s.Scientist.Send("/api/runs", request)).EnsureSuccessStatusCode();
        var run = request.RunId;
        await s.Fact("/api/runs/facts/submitted", new JobSubmittedReport(Guid.NewGuid(), run, $"train-{run:N}", "kubernetes"));

        // Sent again under a new id, as a restarted agent does: the same reason records nothing new.
        await s.Fact("/api/runs/facts/waiting", new JobWaitingReport(Guid.NewGuid(), run, Unschedulable));
        await s.Fact("/api/runs/facts/waiting", new JobWaitingReport(Guid.NewGuid(), run, Unschedulable));
        (await s.Viewer.Get<TrainingRunView>($"/api/runs/{run}")).WaitingReason.ShouldBe(Unschedulable);
        (await s.Viewer.Get<List<TrainingRunSummary>>($"/api/runs?model={s.Model}")).ShouldHaveSingleItem().WaitingReason.ShouldBe(Unschedulable);

        await s.Fact("/api/runs/facts/waiting", new JobWaitingReport(Guid.NewGuid(), run, null));
        (await s.Viewer.Get<TrainingRunView>($"/api/runs/{run}")).WaitingReason.ShouldBeNull();
        await s.Fact("/api/runs/facts/waiting", new JobWaitingReport(Guid.NewGuid(), run, "CrashLoopBackOff: back-off 5m0s restarting failed container"));
        await s.Fact("/api/runs/facts/failed", new TrainingFailedReport(Guid.NewGuid(), run, "OOMKilled", 137));
        // A report racing the run's end is accepted and ignored; a finished run shows no reason.
        await s.Fact("/api/runs/facts/waiting", new JobWaitingReport(Guid.NewGuid(), run, Unschedulable));
        (await s.Viewer.Get<TrainingRunView>($"/api/runs/{run}")).WaitingReason.ShouldBeNull();

        await using var session = fx.Store.QuerySession();
        (await session.Events.FetchStreamAsync(StreamKeys.Run(run), token: Ct)).Select(e => e.Data).OfType<TrainingJobWaitingChanged>().Select(e => e.Reason)
            .ShouldBe([Unschedulable, null, "CrashLoopBackOff: back-off 5m0s restarting failed container"]);
    }

    [Fact]
    public async Task Given_a_run_When_a_waiting_reason_comes_without_its_grant_or_hostile_Then_it_is_refused_without_being_echoed_and_nothing_is_recorded()
    {
        var s = new Scenario(fx);
        await s.RegisterDataset();
        var request = s.Request();
        (await s.Scientist.Send("/api/runs", request)).EnsureSuccessStatusCode();
        var report = new JobWaitingReport(Guid.NewGuid(), request.RunId, Unschedulable);

        (await fx.Client(Roles.Agent, "mallory-agent").Send("/api/runs/facts/waiting", report)).StatusCode.ShouldBe(HttpStatusCode.Forbidden);
        var granted = s.WithGrant(s.Agent, report);
        var overlong = (await (await granted.Send("/api/runs/facts/waiting", report with { CommandId = Guid.NewGuid(), Reason = new string('x', 1001) }))
            .Problem(400)).ToString();
        overlong.ShouldContain("at most 1000");
        overlong.ShouldNotContain("xxxx");
        await (await granted.Send("/api/runs/facts/waiting", report with { CommandId = Guid.NewGuid(), Reason = "ImagePullBackOff\u001b[2J" })).Problem(400);
        await (await granted.Send("/api/runs/facts/waiting", report with { CommandId = Guid.NewGuid(), Reason = "ImagePullBackOff\n  epochs 3" })).Problem(400);
        await (await granted.Send("/api/runs/facts/waiting", report with { CommandId = Guid.NewGuid(), Reason = new string('x', 10_000) })).Problem(400);

        (await s.Viewer.Get<TrainingRunView>($"/api/runs/{request.RunId}")).WaitingReason.ShouldBeNull();
    }
}
