using System.CommandLine;
using System.Text.Json;
using EventMlOps.Contracts.Views;

namespace EventMlOps.Cli.Audit;

/// <summary><c>emo events tail [--from seq] [--follow]</c>: the latest events, oldest first, then (with --follow) new
/// ones as they are appended, by polling <c>/api/events?after=</c>. With --json, one JSON object per line.
/// <c>emo events export [--until time|seq] --out file</c> and <c>emo events import file [--append-after seq:hash]</c> move
/// the whole history between control planes as a tamper-evident history file (admin).</summary>
public static class EventsCommand
{
    private static readonly TimeSpan PollInterval = TimeSpan.FromMilliseconds(500);

    public static Command Create()
    {
        var from = new Option<long?>("--from") { Description = "Start at this global sequence (default: the latest --limit events)" };
        var follow = new Option<bool>("--follow", "-f") { Description = "Keep printing new events until interrupted" };
        var limit = new Option<int>("--limit") { Description = "How many of the latest events to print first", DefaultValueFactory = _ => 20 };
        var tail = new Command("tail", "Print the latest events, and with --follow new ones as they arrive") { from, follow, limit };
        tail.SetAction(async (parse, ct) =>
        {
            var ctx = CliContext.From(parse);
            var batch = parse.GetValue(from) is { } start
                ? await ctx.Api.GetAsync<List<AuditEntry>>(After(start - 1, parse.GetValue(limit)), ct)
                : Enumerable.Reverse(await ctx.Api.GetAsync<List<AuditEntry>>(AuditCommand.Path(limit: parse.GetValue(limit)), ct)).ToList();
            var last = Print(ctx, batch, parse.GetValue(from) is { } s ? s - 1 : 0);
            try
            {
                while (parse.GetValue(follow))
                {
                    await Task.Delay(PollInterval, ct);
                    last = Print(ctx, await ctx.Api.GetAsync<List<AuditEntry>>(After(last, 500), ct), last);
                }
            }
            catch (OperationCanceledException) when (ct.IsCancellationRequested)
            {
                // Interrupted while following: the normal way a tail ends.
            }
            return 0;
        });
        return new Command("events", "The raw event log") { tail, Export(), Import() };
    }

    private static Command Export()
    {
        var until = new Option<string?>("--until") { Description = "Export up to this time (ISO 8601) or global event sequence (default: everything)" };
        var output = new Option<string>("--out") { Description = "The history file to write", Required = true };
        var export = new Command("export", "Write the event history to a tamper-evident history file (NDJSON, hash-chained; admin)") { until, output };
        export.SetAction(async (parse, ct) =>
        {
            var ctx = CliContext.From(parse);
            var file = Path.GetFullPath(parse.GetValue(output)!);
            var head = await HistoryFile.ExportAsync(ctx.Api, parse.GetValue(until), file, ct);
            if (ctx.Json)
                ctx.Out.WriteLine(JsonSerializer.Serialize(new { file, head.Events, head.UntilSequence, head = head.ToString() }, ApiClient.Json));
            else
                ctx.Out.WriteLine($"exported {head.Events} events (up to sequence {head.UntilSequence}) to {file} ({new FileInfo(file).Length / 1024.0:0.#} KiB)\n" +
                                  $"head {head}");
            return 0;
        });
        return export;
    }

    private static Command Import()
    {
        var file = new Argument<string>("file") { Description = "A history file written by emo events export" };
        var appendAfter = new Option<string?>("--append-after")
            { Description = "Continue a store that is not empty: <sequence>:<hash> of its last event, as its export or import printed its head" };
        var import = new Command("import", "Import a history file into an empty store (or after its last event); verifies the whole file first (admin)")
            { file, appendAfter };
        import.SetAction(async (parse, ct) =>
        {
            var ctx = CliContext.From(parse);
            var path = parse.GetValue(file)!;
            if (!File.Exists(path)) throw CliError.Usage($"{path} does not exist");
            var imported = await HistoryFile.ImportAsync(ctx.Api, path, parse.GetValue(appendAfter), ct);
            if (ctx.Json)
                ctx.Out.WriteLine(JsonSerializer.Serialize(imported, new JsonSerializerOptions(ApiClient.Json) { WriteIndented = true }));
            else
                ctx.Out.WriteLine($"imported {imported.Events} events (sequences {imported.FromSequence}..{imported.UntilSequence}) of a history from {imported.Product}\n" +
                                  $"rebuilt {imported.Rebuilt.Count} projections; subscriptions set past sequence {imported.UntilSequence}: " +
                                  $"{string.Join(", ", imported.Subscriptions)}\nhead {imported.Head}");
            return 0;
        });
        return import;
    }

    private static string After(long sequence, int limit) => ApiClient.Path("/api/events", ("after", Math.Max(0, sequence)), ("limit", limit));

    /// <summary>Prints the entries and answers the highest sequence seen, where the next poll continues.</summary>
    private static long Print(CliContext ctx, IReadOnlyList<AuditEntry> entries, long last)
    {
        foreach (var e in entries)
        {
            ctx.Out.WriteLine(ctx.Json ? JsonSerializer.Serialize(e, ApiClient.Json) : AuditView.Line(e));
            last = Math.Max(last, e.Sequence);
        }
        ctx.Out.Flush();
        return last;
    }
}
