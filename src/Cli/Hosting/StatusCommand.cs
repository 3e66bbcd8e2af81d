using System.CommandLine;
using System.Text.Json;
using EventMlOps.Contracts.Views;
using EventMlOps.Hosting;
using EventMlOps.Local;

namespace EventMlOps.Cli.Hosting;

/// <summary><c>emo status</c>: where the control plane is, whether it is ready, its PostgreSQL, what the store holds, and
/// the agent hosts as their last beats left them. Exits 0 only when the control plane answers ready.</summary>
public static class StatusCommand
{
    private const int RunsCountedUpTo = 1000;

    public sealed record Status(string? Url, bool Ready, int? Pid, string Postgres, IReadOnlyDictionary<string, string>? Counts, string? CountsUnavailable,
        IReadOnlyList<AgentView>? Agents = null);

    public static Command Create()
    {
        var command = new Command("status", "Show the control plane's URL, health, pid, PostgreSQL, store counts and agents");
        command.SetAction(async (parse, ct) =>
        {
            var ctx = CliContext.From(parse);
            var url = ctx.FindUrl();
            var ready = url is not null && await ApiClient.IsReadyAsync(url, ct);
            var (counts, unavailable) = ready ? await CountAsync(ctx, ct) : (null, null);
            var agents = counts is null ? null : await AgentsAsync(ctx, ct);
            var status = new Status(url?.ToString().TrimEnd('/'), ready, ctx.Local.RunningPid(), Postgres(ctx), counts, unavailable, agents);
            if (ctx.Json)
                ctx.Out.WriteLine(JsonSerializer.Serialize(status, new JsonSerializerOptions(ApiClient.Json) { WriteIndented = true }));
            else
                Render(ctx.Out, status);
            return ready ? 0 : 1;
        });
        return command;
    }

    private static void Render(TextWriter w, Status s)
    {
        var health = s.Url is null ? "not running (run ./emo up)" : s.Ready ? "ready" : "not answering";
        w.WriteLine($"control plane  {s.Url ?? "-"}  {health}{(s.Pid is { } pid ? $"  pid {pid}" : "")}");
        w.WriteLine($"postgresql     {s.Postgres}");
        if (s.Counts is { } c)
            w.WriteLine($"store          {string.Join(", ", c.Select(kv => $"{kv.Value} {kv.Key}"))}");
        if (s.CountsUnavailable is { } why)
            w.WriteLine($"store          counts unavailable: {why}");
        if (s.Agents is { Count: 0 })
            w.WriteLine("agents         none has reported (a host beats every 15 s; ./emo up runs one beside the control plane)");
        foreach (var a in s.Agents ?? [])
            w.WriteLine($"agents         {a.Name}  {(a.Alive ? "alive" : $"SILENT (no beat for over {a.StaleAfterSeconds} s)")}, last beat {Fmt.Time(a.LastBeatAt)}  "
                        + $"jobs on {a.JobRuntime}: {a.Jobs} unfinished  replicas on {a.ServingRuntime}: {a.Endpoints} endpoint(s)");
    }

    private static string Postgres(CliContext ctx) =>
        Store.ConnectionString(ctx.Configuration) is not null ? "external (EMO_POSTGRES / ConnectionStrings__Marten)"
        : LocalPostgres.IsRunning(ctx.Local.PostgresRoot) ? $"private cluster running ({ctx.Local.PostgresRoot})"
        : $"private cluster not running ({ctx.Local.PostgresRoot})";

    /// <summary>The agent hosts' beats, or none when this control plane cannot say (one from before they beat).</summary>
    private static async Task<List<AgentView>?> AgentsAsync(CliContext ctx, CancellationToken ct)
    {
        try
        {
            return await ctx.Api.GetAsync<List<AgentView>>("/api/agents", ct);
        }
        catch (ApiProblem)
        {
            return null;
        }
    }

    /// <summary>Counts need a token; without a usable one, status still reports health and says why counts are missing.</summary>
    private static async Task<(IReadOnlyDictionary<string, string>?, string?)> CountAsync(CliContext ctx, CancellationToken ct)
    {
        if (ctx.FindToken() is null)
            return (null, "no token (pass --token, set EMO_TOKEN, or run ./emo up)");
        async Task<int> Count(string path)
        {
            using var doc = JsonDocument.Parse(await ctx.Api.GetRawAsync(path, ct));
            return doc.RootElement.GetArrayLength();
        }
        try
        {
            var runs = await Count(ApiClient.Path("/api/runs", ("limit", RunsCountedUpTo)));
            return (new Dictionary<string, string>
            {
                ["datasets"] = (await Count("/api/datasets")).ToString(),
                ["runs"] = runs >= RunsCountedUpTo ? $"{RunsCountedUpTo}+" : runs.ToString(),
                ["models"] = (await Count("/api/models")).ToString(),
                ["endpoints"] = (await Count("/api/endpoints")).ToString(),
            }, null);
        }
        catch (ApiProblem p)
        {
            return (null, $"{p.Title}: {p.Detail}");
        }
    }
}
