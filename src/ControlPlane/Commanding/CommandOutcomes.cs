using EventMlOps.Contracts;
using EventMlOps.Contracts.Views;
using Marten;
using Wolverine;

namespace EventMlOps.ControlPlane.Commanding;

/// <summary>A command refused on the bus, kept so that its sender can read why (the message itself waits in the
/// dead-letter store unless its sender awaited an answer); HTTP callers get the reason in their answer instead.</summary>
public sealed record RefusedCommand(Guid Id, string Type, int Status, string Reason, DateTimeOffset At);

public static class CommandOutcomes
{
    /// <summary>How long handled and refused command ids are remembered (<c>Api:CommandRecordDays</c>, 7): a retry within
    /// that time is answered as the first delivery was.</summary>
    public const string RetentionSetting = "Api:CommandRecordDays";

    public static void MapCommandOutcomes(this IEndpointRouteBuilder api) =>
        api.MapGet("/commands/{id:guid}", async (Guid id, IQuerySession session, CancellationToken ct) =>
        {
            if (await session.LoadAsync<HandledCommand>(id, ct) is { } handled)
                return new CommandOutcome(id, handled.Type, "accepted", handled.Answer?.Stream, handled.Answer?.Version, handled.Answer?.Appended);
            if (await session.LoadAsync<RefusedCommand>(id, ct) is { } refused)
                return new CommandOutcome(id, refused.Type, "refused", Status: refused.Status, Reason: refused.Reason);
            throw new NotFound("command", id.ToString());
        }).WithName("GetCommandOutcome");

    /// <summary>Records a command refused on the bus for its sender (<see cref="PublisherAnswers.AnswerRefusalAsync"/>).</summary>
    public static async Task<RefusedCommand?> RecordRefusalAsync(Wolverine.Runtime.IWolverineRuntime runtime, IEnvelopeLifecycle lifecycle, Exception exception)
    {
        if (lifecycle.Envelope?.Message is not ICommand command || ProblemMapping.Describe(exception) is not { } problem) return null;
        var refused = new RefusedCommand(command.CommandId, command.GetType().Name, problem.Status ?? 400, problem.Detail ?? problem.Title ?? "refused",
            DateTimeOffset.UtcNow);
        await using var session = runtime.Services.GetRequiredService<IDocumentStore>().LightweightSession();
        session.Store(refused);
        await session.SaveChangesAsync();
        return refused;
    }
}

/// <summary>Forgets handled and refused command ids past their retention, hourly: the idempotency record does not grow
/// for ever (heartbeats, whose ids mean nothing, are never recorded).</summary>
public sealed class CommandRecordRetention(IDocumentStore store, IConfiguration config, TimeProvider time, ILogger<CommandRecordRetention> log)
    : BackgroundService
{
    protected override async Task ExecuteAsync(CancellationToken ct)
    {
        var keep = TimeSpan.FromDays(Math.Max(1, config.GetValue(CommandOutcomes.RetentionSetting, 7)));
        await Periodic.RunAsync(TimeSpan.FromHours(1), time, async token =>
            {
                var cutoff = time.GetUtcNow() - keep;
                await using var session = store.LightweightSession();
                session.DeleteWhere<HandledCommand>(h => h.At < cutoff);
                session.DeleteWhere<RefusedCommand>(r => r.At < cutoff);
                await session.SaveChangesAsync(token);
            },
            e => log.LogWarning("Forgetting old command records failed ({Reason}); trying again in an hour", e.Message), startNow: true, ct);
    }
}
