using EventMlOps.Contracts;
using EventMlOps.Contracts.Training;
using EventMlOps.Contracts.Views;
using EventMlOps.ControlPlane.Commanding;
using Marten;

namespace EventMlOps.ControlPlane.Training;

public static class TrainingApi
{
    public static void MapTraining(this IEndpointRouteBuilder api)
    {
        api.MapCommand<RequestTraining>("/runs");
        api.MapCommand<ReproduceRun>("/runs/reproduce");
        api.MapCommand<CancelTraining>("/runs/cancel");
        api.MapCommand<JobSubmittedReport>("/runs/facts/submitted");
        api.MapCommand<TrainingStartedReport>("/runs/facts/started");
        api.MapCommand<EpochReport>("/runs/facts/epoch");
        api.MapCommand<TrainingSucceededReport>("/runs/facts/succeeded");
        api.MapCommand<TrainingFailedReport>("/runs/facts/failed");
        api.MapCommand<HeartbeatReport>("/runs/facts/heartbeat");
        api.MapCommand<JobWaitingReport>("/runs/facts/waiting");
        api.MapGet("/runs", ListAsync).WithName("ListRuns");
        api.MapGet("/runs/{id:guid}", (Guid id, string? asOf, IQuerySession session, CancellationToken ct) => GetAsync(session, id, AsOf.Parse(asOf), ct)).WithName("GetRun");
    }

    public static async Task<List<TrainingRunSummary>> ListAsync(string? model, RunStatus? status, int? limit, int? offset, IQuerySession session, CancellationToken ct)
    {
        var query = session.Query<TrainingRun>().AsQueryable();
        if (model is not null) query = query.Where(r => r.ModelName == model);
        if (status is not null) query = query.Where(r => r.Status == status);
        var runs = await query.OrderByDescending(r => r.RequestedAt).Page(limit, offset).ToListAsync(ct);
        var liveness = await session.LoadManyAsync<RunLiveness>(ct, runs.Select(r => r.Id));
        return [.. runs.Select(r => r.ToSummary(liveness.FirstOrDefault(l => l.Id == r.Id)))];
    }

    public static async Task<TrainingRunView> GetAsync(IQuerySession session, Guid id, AsOf? asOf, CancellationToken ct)
    {
        var stream = StreamKeys.Run(id);
        var run = await session.StateAsync<TrainingRun>(stream, asOf, ct) ?? throw new NotFound("run", id.ToString("N"));
        // Liveness is the present only: a past moment has no beat to show.
        return run.ToView(await session.StateAsync<RunTracking>(stream, asOf, ct), asOf is null ? await session.LoadAsync<RunLiveness>(stream, ct) : null);
    }
}
