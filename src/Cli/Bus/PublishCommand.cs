using System.CommandLine;
using System.Text.Json;
using System.Text.Json.Nodes;
using EventMlOps.Cli.Hosting;
using EventMlOps.Contracts;
using EventMlOps.Contracts.Views;
using EventMlOps.Hosting;
using EventMlOps.Local;

namespace EventMlOps.Cli.Bus;

/// <summary><c>emo publish &lt;file.json&gt; [--type T]</c>: puts a raw contract command on the bus instead of calling the
/// HTTP API. The file is <c>{"type": "RegisterDataset", "message": {...}}</c>, or the message itself with <c>--type</c>.
/// A missing or empty <c>commandId</c> gets a new one; a given one is kept, so publishing a file twice is idempotent.</summary>
public static class PublishCommand
{
    public static Command Create()
    {
        var file = new Argument<FileInfo>("file.json") { Description = "The command as JSON" };
        var type = new Option<string?>("--type") { Description = "Contract command type name, e.g. RegisterDataset (default: the file's \"type\")" };
        var connection = new Option<string?>("--connection") { Description = "PostgreSQL connection string (default: $EMO_POSTGRES, else the private cluster of $EMO_HOME)" };
        var schema = new Option<string?>("--schema") { Description = "The control plane's Marten schema; its queues live in <schema>_queues (default: $Marten__Schema, else emo)" };
        var noWait = new Option<bool>("--no-wait") { Description = "Return once published, without waiting for the control plane's outcome" };
        var command = new Command("publish", "Put a raw command on the bus (queue emo-control-plane) and show what became of it") { file, type, connection, schema, noWait };
        command.SetAction(async (parse, ct) =>
        {
            var ctx = CliContext.From(parse);
            var message = Read(parse.GetValue(file)!, parse.GetValue(type));
            var token = ctx.FindToken() ?? throw CliError.Usage($"no token: pass --token, set EMO_TOKEN, or run ./emo up (it writes {ctx.Local.TokenFile})");
            var target = await TargetAsync(ctx, parse.GetValue(connection), parse.GetValue(schema), ct);
            var envelope = await BusPublisher.SendAsync(target, message, token, ctx.CorrelationId, ct);
            var name = message.GetType().Name;
            // What became of it, as the control plane recorded it (unless the caller only publishes).
            var outcome = parse.GetValue(noWait) ? null : await OutcomeAsync(ctx, message.CommandId, ct);
            if (ctx.Json)
                ctx.Out.WriteLine(JsonSerializer.Serialize(new { type = name, message.CommandId, envelopeId = envelope, destination = target.Describe(), ctx.CorrelationId, outcome },
                    new JsonSerializerOptions(ApiClient.Json) { WriteIndented = true }));
            else
                ctx.Out.WriteLine($"published {name} (command {message.CommandId}) to {target.Describe()} as message {envelope}" + outcome switch
                {
                    null => "",
                    { State: "accepted" } => $"; accepted: {outcome.Appended} event(s) on {outcome.Stream}",
                    _ => $"; refused ({outcome.Status}): {outcome.Reason}",
                });
            return outcome?.State == "refused" ? 2 : 0;
        });
        return command;
    }

    /// <summary>Polls the control plane for the command's outcome (up to 30 s); null when none is known by then.</summary>
    private static async Task<CommandOutcome?> OutcomeAsync(CliContext ctx, Guid commandId, CancellationToken ct)
    {
        for (var deadline = DateTime.UtcNow.AddSeconds(30); DateTime.UtcNow < deadline; await Task.Delay(200, ct))
        {
            try
            {
                return await ctx.Api.GetAsync<CommandOutcome>($"/api/commands/{commandId}", ct);
            }
            catch (ApiProblem e) when (e.Status == 404)
            {
                // Not handled yet: the control plane takes it off the queue within moments.
            }
        }
        ctx.Err.WriteLine($"no outcome recorded for command {commandId} within 30 s (is the control plane running? ./emo status)");
        return null;
    }

    public static ICommand Read(FileInfo file, string? typeName)
    {
        if (!file.Exists) throw CliError.Usage($"{file.FullName} does not exist");
        JsonNode? root;
        try { root = JsonNode.Parse(File.ReadAllText(file.FullName)); }
        catch (JsonException e) { throw CliError.Usage($"{file.Name} is not JSON: {e.Message}"); }
        var body = root as JsonObject ?? throw CliError.Usage($"{file.Name} must hold a JSON object");
        if (body["message"] is JsonObject inner)
        {
            typeName ??= body["type"]?.ToString();
            body = inner;
        }
        var type = Find(typeName ?? throw CliError.Usage($"{file.Name} names no \"type\": pass --type"));
        if (body["commandId"]?.ToString() is null or "" || body["commandId"]!.ToString() == Guid.Empty.ToString())
            body["commandId"] = Guid.NewGuid();
        try
        {
            return (ICommand)(body.Deserialize(type, ApiClient.Json) ?? throw CliError.Usage($"{file.Name}: the message is null"));
        }
        catch (JsonException e)
        {
            throw CliError.Usage($"{file.Name} is not a valid {type.Name}: {e.Message}");
        }
    }

    /// <summary>A command type of the contracts assembly, by short or full name.</summary>
    private static Type Find(string name)
    {
        var commands = typeof(ICommand).Assembly.GetExportedTypes()
            .Where(t => t is { IsClass: true, IsAbstract: false } && typeof(ICommand).IsAssignableFrom(t)).ToList();
        return commands.FirstOrDefault(t => string.Equals(t.Name, name, StringComparison.OrdinalIgnoreCase) || t.FullName == name)
            ?? throw CliError.Usage($"'{name}' is not a command of contracts/; one of: {string.Join(", ", commands.Select(t => t.Name).Order())}");
    }

    internal static async Task<BusTarget> TargetAsync(CliContext ctx, string? connection, string? schema, CancellationToken ct)
    {
        var settings = BusSettings.From(ctx.Configuration);
        var chosenSchema = schema ?? Store.Schema(ctx.Configuration);
        if (settings.Transport != BusTransport.Postgresql)
            return new BusTarget(settings, null, chosenSchema);
        var cs = connection ?? Store.ConnectionString(ctx.Configuration);
        if (cs is null && LocalPostgres.IsRunning(ctx.Local.PostgresRoot))
        {
            // Joins the running private cluster (never starts one: with nothing running nobody would consume the message).
            var pg = await LocalPostgres.StartAsync(ctx.Local.PostgresRoot, ct: ct);
            cs = pg.ConnectionString("emo");
        }
        return new BusTarget(settings, cs ?? throw new CliError(
            $"no PostgreSQL to publish to: pass --connection, set EMO_POSTGRES, or start the local control plane (./emo up) so that {ctx.Local.PostgresRoot} runs"), chosenSchema);
    }
}
