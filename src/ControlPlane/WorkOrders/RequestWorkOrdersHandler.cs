using EventMlOps.Contracts;
using EventMlOps.Contracts.Training;
using EventMlOps.Contracts.Views;
using EventMlOps.ControlPlane.Auth;
using EventMlOps.ControlPlane.Commanding;
using EventMlOps.ControlPlane.Datasets;
using EventMlOps.ControlPlane.Endpoints;
using EventMlOps.ControlPlane.Training;
using Marten;
using Wolverine;

namespace EventMlOps.ControlPlane.WorkOrders;

/// <summary>An agent that restarted, or whose endpoint grants run out, asks for its work orders again: the unfinished runs'
/// <see cref="LaunchTraining"/> and the live endpoints' desired state go to the agents' queue with fresh grants (the
/// sender itself gets only the count). Finished runs and deleted endpoints get nothing. Appends no event.</summary>
public static class RequestWorkOrdersHandler
{
    private const int MaxItems = 500;

    public static async Task<(CommandAccepted, OutgoingMessages)> Handle(RequestWorkOrders command, IDocumentSession session, Tokens tokens)
    {
        if (command.Runs?.Count + command.Endpoints?.Count > MaxItems)
            throw new InvalidField("runs/endpoints", $"at most {MaxItems} work orders can be asked for at once");
        var orders = new OutgoingMessages();
        foreach (var runId in (command.Runs ?? []).Distinct())
            if (await session.LoadAsync<TrainingRun>(StreamKeys.Run(runId)) is { IsFinished: false } run
                && await session.LoadAsync<Dataset>(StreamKeys.Dataset(run.DatasetId)) is { } dataset)
                orders.Add(TrainingWorkOrdersHandler.Launch(run.RunId, run.ModelName, run.TrainerKind, dataset.Uri, dataset.Sha256,
                    run.Hyperparameters, run.Resources, run.CodeVersion, run.Options, tokens));
        foreach (var name in (command.Endpoints ?? []).Distinct())
            if (await session.LoadAsync<EndpointState>(StreamKeys.Endpoint(Guard.Name("endpoints", name))) is { Deleted: false } endpoint)
                orders.Add(await session.DesiredAsync(endpoint) with { Grant = tokens.ForEndpoint(endpoint.Name) });
        return (session.Answered(new CommandAccepted(command.CommandId, "", 0, 0)), orders);
    }
}
