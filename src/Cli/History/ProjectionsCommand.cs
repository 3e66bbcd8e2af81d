using System.CommandLine;
using System.Globalization;
using EventMlOps.Contracts.Views;

namespace EventMlOps.Cli.History;

/// <summary><c>emo projections list</c> and <c>emo projections rebuild [--name P]… [--verify]</c> (admin): the projections and
/// snapshots the control plane keeps, and their rebuild from the events — started over HTTP, then polled, printing how far
/// each has come. With --verify nothing changes: the rebuild is compared with the live documents, and differences exit 1.</summary>
public static class ProjectionsCommand
{
    private static readonly TimeSpan PollInterval = TimeSpan.FromMilliseconds(500);

    /// <summary>A projection still rebuilding is reported at most this often; when it is done, at once.</summary>
    private static readonly TimeSpan ProgressInterval = TimeSpan.FromSeconds(5);

    public static Command Create()
    {
        var list = new Command("list", "The projections and snapshots, with how many documents each holds");
        list.SetAction((parse, ct) =>
        {
            var ctx = CliContext.From(parse);
            return ctx.ShowAsync<List<ProjectionInfo>>("/api/projections", projections =>
            {
                var table = new Table("PROJECTION", "DOCUMENT", "LIFECYCLE", "DOCUMENTS");
                foreach (var p in projections) table.Row(p.Name, p.Document, p.Lifecycle, Count(p.Documents));
                table.WriteTo(ctx.Out, "no projections");
            }, ct);
        });

        var names = new Option<string[]>("--name") { Description = "Only this projection (repeat for several; default: every one)" };
        var verify = new Option<bool>("--verify") { Description = "Rebuild into a scratch schema and compare every document with the live one, changing nothing" };
        var rebuild = new Command("rebuild", "Rebuild projections from the events through the projection daemon, while the control plane keeps answering")
        {
            names, verify,
        };
        rebuild.SetAction(async (parse, ct) =>
        {
            var ctx = CliContext.From(parse);
            var request = new RebuildRequest(parse.GetValue(names) is { Length: > 0 } n ? n : null, parse.GetValue(verify));
            var run = ApiClient.Deserialize<ProjectionRun>(await ctx.Api.PostRawAsync("/api/projections/rebuilds", request, ct));
            // With --json the final answer alone goes to stdout; the progress always goes where a person reads it.
            var progress = ctx.Json ? ctx.Err : ctx.Out;
            progress.WriteLine($"{(request.Verify ? "Verifying" : "Rebuilding")} {string.Join(", ", run.Projections)} (run {run.Id})");
            var shown = new Dictionary<string, (ProjectionProgress Progress, DateTime At)>();
            string raw;
            while (true)
            {
                raw = await ctx.Api.GetRawAsync($"/api/projections/rebuilds/{run.Id}", ct);
                run = ApiClient.Deserialize<ProjectionRun>(raw);
                foreach (var p in run.Progress.Where(p => !shown.TryGetValue(p.Projection, out var last)
                             || (p.Done ? !last.Progress.Done : last.Progress.Position != p.Position && DateTime.UtcNow - last.At >= ProgressInterval)))
                {
                    progress.WriteLine($"  {p.Projection,-28} {Count(p.Position),13} / {Count(p.Ceiling)} events ({Percent(p)})  " +
                                       $"{Count((long)p.EventsPerSecond)} events/s{(p.Done ? "  done" : "")}");
                    shown[p.Projection] = (p, DateTime.UtcNow);
                }
                progress.Flush();
                if (run.State != ProjectionRun.Running) break;
                await Task.Delay(PollInterval, ct);
            }
            if (ctx.Json) ctx.Out.WriteLine(ApiClient.Pretty(raw));
            else Render(ctx.Out, run);
            if (run.State == ProjectionRun.Failed)
                throw new CliError($"the {run.Mode} failed: {run.Error}");
            return run.Verification is { DifferenceCount: > 0 } ? 1 : 0;
        });
        return new Command("projections", "The projections and snapshots kept from the events, and their rebuild (admin)") { list, rebuild };
    }

    private static void Render(TextWriter w, ProjectionRun run)
    {
        var took = run.FinishedAt is { } end ? Fmt.Seconds((end - run.StartedAt).TotalSeconds) : "-";
        if (run.Replaced is { } replaced)
        {
            w.WriteLine($"Rebuilt in {took}:");
            var table = new Table("DOCUMENT", "REBUILT", "INSERTED", "UPDATED", "DELETED", "KEPT LIVE");
            foreach (var r in replaced) table.Row(r.Document, Count(r.Rebuilt), Count(r.Inserted), Count(r.Updated), Count(r.Deleted), Count(r.KeptLive));
            table.WriteTo(w);
            if (replaced.Sum(r => r.KeptLive) is var kept and > 0)
                w.WriteLine($"{Count(kept)} document(s) written by commands during the rebuild were left as they were; " +
                            "`emo projections rebuild --verify` checks them");
        }
        if (run.Verification is { } v)
        {
            w.WriteLine($"Verified in {took}: {Count(v.Compared)} documents compared with their rebuild, " +
                        $"{Count(v.WrittenMeanwhile)} written meanwhile (not compared): " +
                        (v.DifferenceCount == 0 ? "no differences" : $"{Count(v.DifferenceCount)} difference(s)"));
            if (v.DifferenceCount == 0) return;
            var table = new Table("DOCUMENT", "ID", "DIFFERENCE", "FIELDS");
            foreach (var d in v.Differences) table.Row(d.Document, d.Id, d.Kind, d.Fields.Count == 0 ? "-" : string.Join(", ", d.Fields));
            table.WriteTo(w);
            if (v.DifferenceCount > v.Differences.Count)
                w.WriteLine($"(the first {v.Differences.Count} of {Count(v.DifferenceCount)} are listed)");
            w.WriteLine("A drifted document is a bug made visible; `emo projections rebuild --name <projection>` puts the rebuild in place.");
        }
    }

    private static string Count(long n) => n.ToString("N0", CultureInfo.InvariantCulture);

    private static string Percent(ProjectionProgress p) =>
        p.Ceiling > 0 ? (100.0 * p.Position / p.Ceiling).ToString("0", CultureInfo.InvariantCulture) + "%" : "-";
}
