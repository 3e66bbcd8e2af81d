using EventMlOps.Client;
using EventMlOps.Contracts;
using EventMlOps.Contracts.Integration.V1;
using EventMlOps.Contracts.Training;
using MassTransit;

// A MassTransit service that asks EventMlOps for a training run, waits for the answer, and reacts when a version of its
// model is approved:
//   EMO_RABBITMQ=amqp://guest:guest@127.0.0.1:5679/ EMO_TOKEN=<jwt of a scientist> dotnet run -- <datasetId> <model>
// Without arguments it only listens for approvals.
var rabbit = new Uri(Environment.GetEnvironmentVariable("EMO_RABBITMQ") ?? "amqp://guest:guest@127.0.0.1:5679/");
var model = args.ElementAtOrDefault(1);

var bus = Bus.Factory.CreateUsingRabbitMq(cfg =>
{
    var credentials = Uri.UnescapeDataString(rabbit.UserInfo).Split(':', 2);
    cfg.Host(rabbit.Host, (ushort)rabbit.Port, rabbit.AbsolutePath.Trim('/') is { Length: > 0 } vhost ? vhost : "/", h =>
    {
        h.Username(credentials[0]);
        h.Password(credentials.ElementAtOrDefault(1) ?? "");
    });
    // Integration events arrive on the emo-events exchange; this service's own queue takes the approvals.
    cfg.ReceiveEndpoint("sample-model-approvals", e =>
    {
        e.ConfigureConsumeTopology = false;
        e.Bind(BusHeaders.EventsExchange);
        // Events of one stream arrive in order; consumed one at a time, they are handled in that order.
        e.ConcurrentMessageLimit = 1;
        e.Consumer(() => new ApprovalConsumer(model));
    });
});
await bus.StartAsync();
try
{
    if (Guid.TryParse(args.ElementAtOrDefault(0), out var datasetId) && model is not null)
    {
        var token = Environment.GetEnvironmentVariable("EMO_TOKEN") ?? throw new InvalidOperationException("set EMO_TOKEN to a scientist's token");
        var request = new RequestTraining(Guid.NewGuid(), Guid.NewGuid(), model, "recommender", datasetId,
            new Dictionary<string, double> { ["epochs"] = 2 }, new TrainingResources(1, 1024, 0), "sample:masstransit");
        var outcome = await bus.RequestAsync(request, token, correlationId: Guid.NewGuid());
        Console.WriteLine(outcome.State switch
        {
            "refused" => $"run {request.RunId} refused ({outcome.Status}): {outcome.Reason}",
            _ => $"run {request.RunId} {outcome.State}: {outcome.Appended} event(s) on {outcome.Stream}, now at version {outcome.Version}",
        });
        if (outcome.State == "refused") return 2;
    }
    Console.WriteLine(model is null ? "waiting for approvals of any model (Ctrl+C ends)" : $"waiting for approvals of {model} (Ctrl+C ends)");
    var stop = new TaskCompletionSource();
    Console.CancelKeyPress += (_, e) => { e.Cancel = true; stop.TrySetResult(); };
    await stop.Task;
    return 0;
}
finally
{
    await bus.StopAsync();
}

/// <summary>Reacts to approvals, once per event: delivery is at least once, so the event id de-duplicates (a real service
/// keeps the ids it handled in its own store).</summary>
public sealed class ApprovalConsumer(string? model) : IConsumer<ModelVersionApproved>
{
    private static readonly HashSet<Guid> Handled = [];

    public Task Consume(ConsumeContext<ModelVersionApproved> context)
    {
        var approved = context.Message;
        lock (Handled)
            if (!Handled.Add(approved.EventId) || (model is not null && approved.ModelName != model))
                return Task.CompletedTask;
        Console.WriteLine($"{approved.OccurredAt:u} {approved.ModelName} v{approved.Version} approved by {approved.ApprovedBy} (event {approved.EventId})");
        return Task.CompletedTask;
    }
}
