using EventMlOps.Contracts.Drift;
using EventMlOps.Contracts.Endpoints;
using EventMlOps.ControlPlane.Commanding;
using Marten;

namespace EventMlOps.ControlPlane.Endpoints;

public static class EndpointsApi
{
    public static void MapEndpoints(this IEndpointRouteBuilder api)
    {
        api.MapCommand<CreateEndpoint>("/endpoints");
        api.MapCommand<RollOut>("/endpoints/rollout");
        api.MapCommand<AdvanceRollout>("/endpoints/advance");
        api.MapCommand<PromoteRollout>("/endpoints/promote");
        api.MapCommand<AbortRollout>("/endpoints/abort");
        api.MapCommand<Rollback>("/endpoints/rollback");
        api.MapCommand<DeleteEndpoint>("/endpoints/delete");
        api.MapCommand<RolloutStepObserved>("/endpoints/facts/step");
        api.MapCommand<EndpointObserved>("/endpoints/facts/observed");
        api.MapCommand<ServingReplicaChanged>("/endpoints/facts/replica");
        api.MapCommand<DriftMeasured>("/endpoints/facts/drift-measured");
        api.MapCommand<DriftDetected>("/endpoints/facts/drift-detected");
        // Deleted endpoints stay listed (Deleted, DeletedAt): their history is still asked about.
        api.MapGet("/endpoints", async (IQuerySession session, CancellationToken ct) =>
            await session.Query<EndpointState>().OrderBy(e => e.Name).ToListAsync(ct));
        api.MapGet("/endpoints/{name}/desired", DesiredAsync);
        api.MapGet("/endpoints/{name}", async (string name, string? asOf, IQuerySession session, CancellationToken ct) =>
            await session.StateAsync<EndpointState>(StreamKeys.Endpoint(name), AsOf.Parse(asOf), ct) ?? throw new NotFound("endpoint", name));
    }

    private static readonly TimeSpan PollInterval = TimeSpan.FromMilliseconds(200);

    /// <summary>Long poll for serving processes: the desired state as soon as its revision is above <paramref name="after"/>
    /// (at once when it already is or no <c>after</c> is given), 204 when it did not change within the wait — or when
    /// the host begins to stop, which would otherwise wait for every open poll (up to its shutdown timeout) before
    /// it could exit. Polls the snapshot (one primary-key read) rather than listening in-process, so any replica can
    /// answer. A deleted endpoint answers too (Deleted, no versions), so a process still polling it serves nothing; the rollout agent
    /// stops it.</summary>
    private static async Task<IResult> DesiredAsync(string name, long? after, int? waitSeconds, IDocumentStore store, IHostApplicationLifetime lifetime,
        CancellationToken ct)
    {
        if (after is < 0) throw new InvalidField("after", "must be a revision ≥ 0");
        if (waitSeconds is < 0 or > 120) throw new InvalidField("waitSeconds", "must be between 0 and 120");
        var deadline = DateTimeOffset.UtcNow.AddSeconds(waitSeconds ?? 30);
        using var wait = CancellationTokenSource.CreateLinkedTokenSource(ct, lifetime.ApplicationStopping);
        while (true)
        {
            await using (var session = store.QuerySession())
            {
                var state = await session.LoadAsync<EndpointState>(StreamKeys.Endpoint(name), ct) ?? throw new NotFound("endpoint", name);
                if (after is null || state.Revision > after) return Results.Ok(state.Desired());
            }
            if (DateTimeOffset.UtcNow + PollInterval > deadline || lifetime.ApplicationStopping.IsCancellationRequested) return Results.NoContent();
            await Task.Delay(PollInterval, wait.Token).ConfigureAwait(ConfigureAwaitOptions.SuppressThrowing);
        }
    }
}
