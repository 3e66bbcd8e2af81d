using System.CommandLine;
using EventMlOps.Contracts.Views;

namespace EventMlOps.Cli.Alarms;

/// <summary><c>emo alarms [--endpoint E] [--machine M] [--open]</c>: anomaly episodes the stream scorers raised, newest first.</summary>
public static class AlarmsCommand
{
    public static Command Create()
    {
        var endpoint = new Option<string?>("--endpoint") { Description = "Only this endpoint's alarms" };
        var machine = new Option<string?>("--machine") { Description = "Only this machine's alarms" };
        var open = new Option<bool>("--open") { Description = "Only episodes still open" };
        var limit = new Option<int?>("--limit") { Description = "At most this many (default 100, at most 1000)" };
        var command = new Command("alarms", "Anomaly alarm episodes of the sensor streams") { endpoint, machine, open, limit };
        command.SetAction((parse, ct) =>
        {
            var ctx = CliContext.From(parse);
            var query = new List<string>();
            if (parse.GetValue(endpoint) is { } e) query.Add("endpoint=" + Uri.EscapeDataString(e));
            if (parse.GetValue(machine) is { } m) query.Add("machine=" + Uri.EscapeDataString(m));
            if (parse.GetValue(open)) query.Add("open=true");
            if (parse.GetValue(limit) is { } l) query.Add("limit=" + l);
            return ctx.ShowAsync<List<AnomalyEpisode>>("/api/alarms" + (query.Count > 0 ? "?" + string.Join("&", query) : ""), episodes =>
            {
                var table = new Table("ENDPOINT", "MACHINE", "VERSION", "FROM (EVENT TIME)", "UNTIL", "WINDOWS", "MAX SCORE", "THRESHOLD");
                foreach (var a in episodes)
                    table.Row(a.Endpoint, a.Machine, a.ModelVersion, Fmt.Time(a.WindowStart), a.Open ? "open" : Fmt.Time(a.ClearedWindowEnd),
                        a.Windows?.ToString() ?? "-", Fmt.Number(a.MaxScore ?? a.Score), Fmt.Number(a.Threshold));
                table.WriteTo(ctx.Out, "no anomaly alarms");
            }, ct);
        });
        return command;
    }
}
