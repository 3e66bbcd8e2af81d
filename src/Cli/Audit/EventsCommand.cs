using System.CommandLine;
using System.Text.Json;
using EventMlOps.Contracts.Views;

namespace EventMlOps.Cli.Audit;

/// <summary><c>emo events tail [--from seq] [--follow]</c>: the latest events, oldest first, then (with --follow) new
/// ones as they are appended, by polling <c>/api/events?after=</c>. With --json, one JSON object per line.</summary>
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
        return new Command("events", "The raw event log") { tail };
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
