using EventMlOps.Contracts;
using EventMlOps.Contracts.Views;
using EventMlOps.ControlPlane.Auth;
using EventMlOps.ControlPlane.Commanding;
using EventMlOps.ControlPlane.Training;
using Marten;

namespace EventMlOps.ControlPlane.Mlflow;

/// <summary>One tracking call, whatever its MLflow shape: becomes one <see cref="TrainingRunLogged"/> event. Sent by a
/// trainer with its run-scoped token, or by the person whose MLflow client started the run (<see cref="TrackedRuns.EnsureWriter"/>).
/// <paramref name="LoggedModel"/> is <c>runs/log-model</c>'s model (MLmodel as JSON), appended to the run's
/// <c>mlflow.log-model.history</c> tag as MLflow's server does.</summary>
[EventMlOps.Contracts.SentBy(EventMlOps.Contracts.Roles.Scientist)]
public sealed record LogToRun(
    Guid CommandId,
    Guid RunId,
    IReadOnlyList<MetricPoint> Metrics,
    IReadOnlyDictionary<string, string> Params,
    IReadOnlyDictionary<string, string> Tags,
    string? LoggedModel = null) : EventMlOps.Contracts.ICommand, IRunScoped;

public static class LogToRunHandler
{
    public static async Task<CommandAccepted> Handle(LogToRun command, Actor actor, IDocumentSession session, TimeProvider time, CancellationToken ct)
    {
        var stream = StreamKeys.Run(command.RunId);
        var tracked = await session.StateAsync<RunTracking>(stream, null, ct);
        return await session.DecideAsync<TrainingRun>(command, stream, run => TrainingDecisions.Log(run, tracked, command, actor, time.GetUtcNow()));
    }
}

/// <summary>MLflow's record of the models logged to a run: the <c>mlflow.log-model.history</c> tag, a JSON list of MLmodel
/// documents (each with its <c>artifact_path</c> and <c>flavors</c>).</summary>
public static class LoggedModels
{
    public const string HistoryTag = "mlflow.log-model.history";

    public static string Append(string? history, string model)
    {
        System.Text.Json.Nodes.JsonNode? parsed;
        try
        {
            parsed = System.Text.Json.Nodes.JsonNode.Parse(model);
        }
        catch (System.Text.Json.JsonException)
        {
            throw new InvalidField("model_json", "is not JSON");
        }
        if (parsed is not System.Text.Json.Nodes.JsonObject { } m || m["artifact_path"] is not System.Text.Json.Nodes.JsonValue || m["flavors"] is not System.Text.Json.Nodes.JsonObject)
            throw new InvalidField("model_json", "must be an MLmodel document with its artifact_path and flavors");
        var list = history is null ? [] : System.Text.Json.Nodes.JsonNode.Parse(history) as System.Text.Json.Nodes.JsonArray ?? [];
        list.Add(m);
        var text = list.ToJsonString();
        return text.Length <= Inputs.MaxText
            ? text
            : throw new InvalidField("model_json", $"the run's models would take {text.Length} characters; a tag holds at most {Inputs.MaxText}");
    }
}
