using System.Security.Cryptography;
using System.Text;
using EventMlOps.Contracts.Endpoints;
using EventMlOps.Contracts.Training;
using EventMlOps.Contracts.Views;
using EventMlOps.ControlPlane.Commanding;
using EventMlOps.ControlPlane.Datasets;
using EventMlOps.ControlPlane.Endpoints;
using EventMlOps.ControlPlane.Registry;
using EventMlOps.ControlPlane.Training;

namespace EventMlOps.ControlPlane.Drift;

/// <summary>Pure decisions of the closed loop: a drift alarm → a training run; that run's approved version → a rollout.
/// Each reuses the decision of the command it stands for (<see cref="TrainingDecisions.Request"/>,
/// <see cref="EndpointDecisions.RollOut"/>), so the loop takes nothing a person could not; what those refuse is recorded.</summary>
public static class RetrainingDecisions
{
    /// <summary>The alarm's run: one per alarm, whoever handles the alarm and however often.</summary>
    public static Guid RunId(Guid alarmId) => new(SHA256.HashData(Encoding.UTF8.GetBytes($"retraining:{alarmId:N}")).AsSpan(0, 16));

    /// <summary>When the model's policy retrains on drift: a run of the trainer, hyperparameters, resources and code of the run
    /// behind the drifting version, on the latest version of the policy's dataset, requested by the policy's author (so the
    /// four-eyes rule keeps them from approving what it produces). Nothing for an alarm already handled.</summary>
    /// <param name="behind">The run that trained the drifting version.</param>
    /// <param name="dataset">The latest dataset of the policy's dataset name.</param>
    public static (object[] OnLoop, object[] OnRun) Retrain(RetrainingLoop? loop, ModelPolicy? policy, DriftDetected alarm, TrainingRun? behind,
        Dataset? dataset, TrainerCatalog catalog, DateTimeOffset now)
    {
        if (loop is not null || policy?.Retraining is not { } retraining)
            return ([], []);
        var runId = RunId(alarm.AlarmId);
        try
        {
            var run = behind ?? throw new Refused($"the run behind {alarm.ModelName}@{alarm.Version} is unknown");
            var data = dataset ?? throw new NotFound("dataset", retraining.Dataset);
            var request = new RequestTraining(runId, runId, alarm.ModelName, run.TrainerKind, data.DatasetId, run.Hyperparameters, run.Resources, run.CodeVersion, run.Options);
            var onRun = TrainingDecisions.Request(null, data, request, catalog, policy.SetBy, now, new DriftTrigger(alarm.AlarmId, alarm.Endpoint, alarm.Version));
            return ([new RetrainingRequested(alarm.AlarmId, alarm.Endpoint, alarm.ModelName, alarm.Version, runId, data.DatasetId, policy.SetBy, now)], onRun);
        }
        catch (Exception e) when (e is Refused or NotFound or InvalidField)
        {
            return ([new RetrainingNotStarted(alarm.AlarmId, alarm.Endpoint, alarm.ModelName, alarm.Version, e.Message, now)], []);
        }
    }

    /// <summary>Once the alarm's retrained version is approved by someone other than its authors, the policy's rollout starts on
    /// the endpoint that raised the alarm, by the policy's author — once per alarm (a second approval changes nothing). No
    /// rollout in the policy: nothing (an operator rolls out). A busy, deleted or repurposed endpoint: why nothing started.</summary>
    public static (object[] OnLoop, object[] OnEndpoint) RollOut(RetrainingLoop? loop, ModelPolicy? policy, ModelVersion version,
        EndpointState? endpoint, string approvedBy, Guid rolloutId, DateTimeOffset now)
    {
        if (loop is null || loop.RolloutDecided || version.RunId != loop.RunId || !version.IsApproved || policy?.Retraining?.Rollout is not { } strategy)
            return ([], []);
        try
        {
            var e = endpoint ?? throw new NotFound("endpoint", loop.Endpoint);
            if (e.ModelName != version.ModelName)
                throw new Refused($"endpoint '{e.Name}' serves model '{e.ModelName}' now, not '{version.ModelName}'");
            var onEndpoint = EndpointDecisions.RollOut(e, version, new RollOut(rolloutId, e.Name, version.Version, strategy), rolloutId, policy.SetBy, now);
            return ([new RetrainedRolloutStarted(loop.AlarmId, e.Name, version.Version, rolloutId, approvedBy, now)], onEndpoint);
        }
        catch (Exception e) when (e is Refused or NotFound or InvalidField)
        {
            return ([new RetrainedRolloutNotStarted(loop.AlarmId, loop.Endpoint, version.Version, e.Message, now)], []);
        }
    }

    /// <summary>Where one alarm's loop stands, from what it decided and the states of its run, version and endpoint.</summary>
    public static RetrainingLoopView View(RetrainingLoop loop, TrainingRun? run, ModelVersion? version, EndpointState? endpoint, bool policyRollsOut)
    {
        RetrainingLoopView At(string state, string? detail) => new(loop.AlarmId, loop.Endpoint, loop.DriftingVersion, loop.At, state, detail, loop.RunId,
            run?.Status, run?.RegisteredVersion, loop.RolloutId);

        if (loop.NotStarted is { } why) return At(RetrainingStates.NotStarted, why);
        if (run is null || !run.IsFinished) return At(RetrainingStates.RunRequested, run?.WaitingReason);
        if (run.Status != RunStatus.Succeeded) return At(RetrainingStates.RunFailed, run.FailureReason);
        if (run.RegistrationBlocked is { } blocked) return At(RetrainingStates.Blocked, blocked);
        if (version is null) return At(RetrainingStates.RunSucceeded, "not registered as a version yet");
        if (loop.RolloutNotStarted is { } refused) return At(RetrainingStates.RolloutNotStarted, refused);
        if (loop.RolloutId is { } id)
            return endpoint?.Rollouts.FirstOrDefault(r => r.RolloutId == id) is { } outcome
                ? At(outcome.Outcome == "promoted" ? RetrainingStates.Promoted : RetrainingStates.RolloutEnded, outcome.Reason is { } reason ? $"{outcome.Outcome}: {reason}" : outcome.Outcome)
                : At(RetrainingStates.RolloutStarted, endpoint?.Rollout?.RolloutId == id ? $"step {endpoint.Rollout.Step + 1} of {Math.Max(1, endpoint.Rollout.Steps.Count)}" : null);
        if (!version.IsApproved)
            return At(RetrainingStates.WaitingForApproval,
                $"{version.ModelName}@{version.Version} needs an approval by someone other than {version.RegisteredBy}{(version.RunRequestedBy is { } r ? $" and {r}" : "")}");
        return At(RetrainingStates.Approved, policyRollsOut ? null : "the policy starts no rollout: an operator rolls it out");
    }
}
