using System.Text.Json;
using EventMlOps.Contracts;
using EventMlOps.Contracts.Views;
using EventMlOps.ControlPlane.Auth;
using EventMlOps.ControlPlane.Commanding;
using EventMlOps.ControlPlane.Datasets;
using EventMlOps.ControlPlane.Training;
using Marten;

namespace EventMlOps.ControlPlane.Mlflow;

/// <summary>One dataset input as an MLflow client describes it (<paramref name="Context"/>: its <c>mlflow.data.context</c> tag).</summary>
public sealed record RunInputClaim(string? Name, string? Digest, string? SourceType, string? Source, string? Context);

/// <summary>MLflow's <c>runs/log-inputs</c>: the datasets a run used, linked to the datasets registered here where the
/// digest or source says which (<see cref="RunInput"/>).</summary>
[SentBy(Roles.Scientist)]
public sealed record LogRunInputs(Guid CommandId, Guid RunId, IReadOnlyList<RunInputClaim> Inputs) : ICommand, IRunScoped;

public static class LogRunInputsHandler
{
    public static async Task<CommandAccepted> Handle(LogRunInputs c, Actor actor, IDocumentSession session, TimeProvider time, CancellationToken ct)
    {
        if (c.Inputs.Count is 0 or > 100) throw new InvalidField("datasets", "names 1 to 100 datasets");
        var inputs = new List<RunInput>();
        foreach (var i in c.Inputs)
        {
            var digest = Guard.Required("dataset.digest", i.Digest).ToLowerInvariant();
            // A digest is only taken for a registered dataset's when it is that dataset's sha256; a source only by its URI.
            var registered = await session.Query<Dataset>().Where(d => d.Sha256 == digest).FirstOrDefaultAsync(ct)
                             ?? (SourceUri(i.Source) is { } uri ? await session.Query<Dataset>().Where(d => d.Uri == uri).FirstOrDefaultAsync(ct) : null);
            inputs.Add(new RunInput(Guard.Required("dataset.name", i.Name), i.Digest!, i.SourceType ?? "", i.Source ?? "", i.Context, registered?.DatasetId,
                registered?.Sha256));
        }
        var now = time.GetUtcNow();
        return await session.DecideAsync<TrainingRun>(c, StreamKeys.Run(c.RunId), run =>
        {
            var r = TrainingDecisions.Writable(run, c.RunId, actor, now);
            return [new RunInputsLogged(r.RunId, inputs, actor.Name, now)];
        });
    }

    /// <summary>The URI an MLflow dataset source names (<c>{"uri": …}</c> or <c>{"url": …}</c>), if it names one.</summary>
    private static string? SourceUri(string? source)
    {
        if (string.IsNullOrWhiteSpace(source)) return null;
        try
        {
            using var doc = JsonDocument.Parse(source);
            return doc.RootElement.ValueKind == JsonValueKind.Object
                   && (doc.RootElement.TryGetProperty("uri", out var u) || doc.RootElement.TryGetProperty("url", out u)) && u.ValueKind == JsonValueKind.String
                ? u.GetString()
                : null;
        }
        catch (JsonException)
        {
            return null;
        }
    }
}
