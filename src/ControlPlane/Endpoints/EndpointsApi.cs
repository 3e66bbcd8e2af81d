using EventMlOps.Contracts.Drift;
using EventMlOps.Contracts.Endpoints;
using EventMlOps.ControlPlane.Commanding;
using EventMlOps.Contracts;
using EventMlOps.ControlPlane.Auth;
using EventMlOps.Contracts.Views;
using Marten;

namespace EventMlOps.ControlPlane.Endpoints;

public static class EndpointsApi
{
    /// <summary>Routes a serving replica's endpoint-scoped token may reach (besides any principal with a role).</summary>
    public const string ReplicaPolicy = "replica-or-principal";

    /// <summary>Short-lived: the replica renews it while its endpoint exists, so a leaked one soon stops working.</summary>
    public static readonly TimeSpan ReplicaTokenLifetime = TimeSpan.FromHours(1);

    /// <param name="replicas">A group under /api that also admits replicas' endpoint-scoped tokens.</param>
    public static void MapEndpoints(this IEndpointRouteBuilder api, IEndpointRouteBuilder replicas)
    {
        api.MapCommand<CreateEndpoint>("/endpoints");
        api.MapCommand<RollOut>("/endpoints/rollout");
        api.MapCommand<AdvanceRollout>("/endpoints/advance");
        api.MapCommand<PromoteRollout>("/endpoints/promote");
        api.MapCommand<AbortRollout>("/endpoints/abort");
        api.MapCommand<Rollback>("/endpoints/rollback");
        api.MapCommand<DeleteEndpoint>("/endpoints/delete");
        api.MapCommand<RolloutStepReport>("/endpoints/facts/step");
        replicas.MapCommand<EndpointStatusReport>("/endpoints/facts/observed");
        api.MapCommand<ReplicaChangeReport>("/endpoints/facts/replica");
        api.MapCommand<DriftMeasured>("/endpoints/facts/drift-measured");
        // Deleted endpoints stay listed (Deleted, DeletedAt): their history is still asked about.
        api.MapGet("/endpoints", ListAsync).WithName("ListEndpoints");
        replicas.MapGet("/endpoints/{name}/desired", DesiredAsync).WithName("GetDesiredState");
        replicas.MapPost("/endpoints/{name}/replica-token", ReplicaTokenAsync).WithName("IssueReplicaToken");
        api.MapGet("/endpoints/{name}", (string name, string? asOf, IQuerySession session, CancellationToken ct) => GetAsync(session, name, AsOf.Parse(asOf), ct)).WithName("GetEndpoint");
        api.MapGet("/endpoints/{name}/timeline", (string name, string? asOf, int? limit, IQuerySession session, CancellationToken ct) =>
            EndpointTimelineQuery.ReadAsync(session, name, AsOf.Parse(asOf), limit, ct)).WithName("GetEndpointTimeline");
    }

    public static async Task<List<EndpointSummary>> ListAsync(int? limit, int? offset, IQuerySession session, CancellationToken ct)
    {
        var endpoints = await session.Query<EndpointState>().OrderBy(e => e.Name).Page(limit, offset).ToListAsync(ct);
        var statuses = await session.LoadManyAsync<EndpointStatus>(ct, endpoints.Select(e => e.Id));
        return [.. endpoints.Select(e => e.ToSummary(statuses.FirstOrDefault(s => s.Id == e.Id)))];
    }

    public static async Task<EndpointView> GetAsync(IQuerySession session, string name, AsOf? asOf, CancellationToken ct)
    {
        var stream = StreamKeys.Endpoint(name);
        var endpoint = await session.StateAsync<EndpointState>(stream, asOf, ct) ?? throw new NotFound("endpoint", name);
        return endpoint.ToView(await session.StateAsync<EndpointStatus>(stream, asOf, ct));
    }

    private static readonly TimeSpan PollInterval = TimeSpan.FromMilliseconds(200);

    /// <summary>Long poll for serving processes: the desired state as soon as its revision is above <paramref name="after"/>
    /// (at once when it already is or no <c>after</c> is given), 204 when it did not change within the wait — or when
    /// the host begins to stop, which would otherwise wait for every open poll (up to its shutdown timeout) before
    /// it could exit. Polls the snapshot (one primary-key read) rather than listening in-process, so any replica can
    /// answer. A deleted endpoint answers too (Deleted, no versions), so a process still polling it serves nothing; the rollout agent
    /// stops it.</summary>
    private static async Task<IResult> DesiredAsync(string name, long? after, int? waitSeconds, HttpContext http, IDocumentStore store,
        IHostApplicationLifetime lifetime, CancellationToken ct)
    {
        MayServe(Actor.From(http.User), name);
        if (after is < 0) throw new InvalidField("after", "must be a revision ≥ 0");
        if (waitSeconds is < 0 or > 120) throw new InvalidField("waitSeconds", "must be between 0 and 120");
        var deadline = DateTimeOffset.UtcNow.AddSeconds(waitSeconds ?? 30);
        using var wait = CancellationTokenSource.CreateLinkedTokenSource(ct, lifetime.ApplicationStopping);
        while (true)
        {
            await using (var session = store.QuerySession())
            {
                var state = await session.LoadAsync<EndpointState>(StreamKeys.Endpoint(name), ct) ?? throw new NotFound("endpoint", name);
                if (after is null || state.Revision > after) return Results.Ok(await session.DesiredAsync(state, ct));
            }
            if (DateTimeOffset.UtcNow + PollInterval > deadline || lifetime.ApplicationStopping.IsCancellationRequested) return Results.NoContent();
            await Task.Delay(PollInterval, wait.Token).ConfigureAwait(ConfigureAwaitOptions.SuppressThrowing);
        }
    }

    /// <summary>Issues a serving replica's token (<see cref="ReplicaToken"/>, for <paramref name="replica"/>, a DNS label):
    /// to the agent holding the endpoint's work order (its agent token and the order's grant), or as a renewal to the replica
    /// itself (its current, still valid token) — and only while the endpoint exists.</summary>
    private static async Task<ReplicaToken> ReplicaTokenAsync(string name, string? replica, HttpContext http, Tokens tokens, IQuerySession session,
        TimeProvider time, CancellationToken ct)
    {
        var actor = Actor.From(http.User);
        MayServe(actor, name);
        if (actor.Endpoint is null)
        {
            if (!actor.IsIn(Roles.Agent)) throw new Forbidden($"a replica token is issued to the agent holding the endpoint's work order; {actor.Name} is no agent");
            if (await tokens.GrantScopeAsync(http.Request.Headers[BusHeaders.GrantHttpHeader].ToString()) != Scopes.Endpoint(name))
                throw new Forbidden($"a replica token for '{name}' needs the grant of the endpoint's work order ({BusHeaders.GrantHttpHeader})");
        }
        if (await session.LoadAsync<EndpointState>(StreamKeys.Endpoint(name), ct) is not { Deleted: false })
            throw new NotFound("endpoint", name);
        var subject = actor.Endpoint is not null ? actor.Name : replica ?? $"serve-{name}";
        if (!System.Text.RegularExpressions.Regex.IsMatch(subject, "^[a-z0-9]([-a-z0-9]{0,61}[a-z0-9])?\\z"))
            throw new InvalidField("replica", "must be a DNS label (the replica's name)");
        return new ReplicaToken(tokens.IssueForReplica(name, subject, ReplicaTokenLifetime), time.GetUtcNow() + ReplicaTokenLifetime);
    }

    /// <summary>A replica's token may only be used on its own endpoint.</summary>
    private static void MayServe(Actor actor, string endpoint)
    {
        if (actor.Endpoint is { } own && own != endpoint)
            throw new Forbidden($"{actor.Name} holds a token for endpoint '{own}' only");
    }
}
