using System.CommandLine;
using EventMlOps.Contracts.Views;

namespace EventMlOps.Cli.Audit;

/// <summary><c>emo audit</c>: who did what, when and why, newest first, filtered by actor, stream, time or
/// correlation (<c>--correlation</c>, the global option: for a query it names the user intent to show).</summary>
public static class AuditCommand
{
    public static Command Create()
    {
        var actor = new Option<string?>("--actor") { Description = "Only events caused by this principal" };
        var stream = new Option<string?>("--stream") { Description = "Only this stream (e.g. endpoint:recommender, model:recommender@2)" };
        var since = new Option<string?>("--since") { Description = "From this time (ISO 8601)" };
        var until = new Option<string?>("--until") { Description = "Up to this time (ISO 8601)" };
        var limit = new Option<int>("--limit") { Description = "At most this many", DefaultValueFactory = _ => 100 };
        var command = new Command("audit", "The audit trail: every event with time, type, stream, actor and correlation")
        {
            actor, stream, since, until, limit,
        };
        command.SetAction((parse, ct) =>
        {
            var ctx = CliContext.From(parse);
            return ctx.ShowAsync<List<AuditEntry>>(Path(parse.GetValue(actor), parse.GetValue(stream), parse.GetValue(since), parse.GetValue(until),
                // The global --correlation names the user intent to show (a query causes no events of its own).
                parse.GetValue<string?>(GlobalOptions.Correlation), parse.GetValue(limit)), entries => AuditView.Table(ctx.Out, entries, ctx.Wide), ct);
        });
        return command;
    }

    public static string Path(string? actor = null, string? stream = null, string? since = null, string? until = null, string? correlation = null, int? limit = null) =>
        ApiClient.Path("/api/audit", ("actor", actor), ("stream", stream), ("since", since), ("until", until), ("correlation", correlation), ("limit", limit));
}
