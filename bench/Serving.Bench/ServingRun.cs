using System.Text.Json;
using EventMlOps.Bench;
using EventMlOps.Contracts.Endpoints;
using static EventMlOps.Bench.Text;

namespace EventMlOps.Serving.Bench;

/// <summary>The whole benchmark: models, then for each route the real server, its baselines and the compute limit,
/// then the tables and the issue's targets.</summary>
public static class ServingRun
{
    /// <summary>Batch sizes the compute limit is measured at; the best is the limit.</summary>
    private static readonly int[] ComputeBatches = [1, 8, 64];

    public const double RecommendP95TargetMs = 5, TargetRate = 1000, NaiveFactorTarget = 3, ComputeShareTarget = 0.5, SerialShareTarget = 0.9,
        ScoreNaiveFactorTarget = 1.0, ScoreP95RatioTarget = 1.2;

    /// <summary>What a server that computes and answers one request after the other could do at best: the compute
    /// limit and the framework's limit (trivial Kestrel) paid in series per request.</summary>
    private static double SerialLimit(double compute, double framework) => 1 / (1 / compute + 1 / framework);

    private sealed record RouteResults(
        string Route, IReadOnlyList<Measurement> Serving, Measurement ServingMax, double? ServingSustained,
        IReadOnlyList<Measurement> Naive, Measurement NaiveMax, double? NaiveSustained, IReadOnlyList<ComputeLimitResult> Compute);

    public static async Task<int> RunAsync(BenchOptions options)
    {
        var output = Console.Out;
        var repo = BenchModels.RepoRoot();
        var home = Path.Combine(repo, ".emo", "serving-bench");
        Directory.CreateDirectory(home);
        using var cts = new CancellationTokenSource();
        Console.CancelKeyPress += (_, e) => { e.Cancel = true; cts.Cancel(); output.WriteLine("  cancelling…"); };
        var ct = cts.Token;
        var duration = TimeSpan.FromSeconds(options.Seconds);
        var self = typeof(ServingRun).Assembly.Location;
        var serve = options.EmoServe ?? Path.Combine(repo, "src", "Serving", "bin", "Release", "net10.0", "emo-serve.dll");
        if (!File.Exists(serve)) throw new InvalidOperationException($"emo-serve is not built: {serve} (dotnet build bench/Serving.Bench -c Release builds it)");

        output.WriteLine("EventMlOps serving benchmark");
        output.WriteLine($"  machine   {Machine()}");
        output.WriteLine($"  options   {options.Seconds:N0} s per measurement, open-loop rates {string.Join(",", options.Rates)} req/s, " +
                         $"closed loop {options.Clients} clients{(options.Quick ? " (--quick)" : "")}");
        output.WriteLine($"  emo-serve {serve}{(options.Device is { } d ? $", Serving:Device={d}" : "")}");
        output.WriteLine($"  logs      {home}/*.log");
        output.WriteLine("  (load generator and server share this machine's cores; latency counts from each request's intended start)");
        output.WriteLine();
        output.WriteLine("Models (the real trainer, one epoch: serving speed does not depend on quality)");
        var recommender = await BenchModels.RecommenderAsync(home, options.Quick, output, ct);
        var anomaly = await BenchModels.AnomalyAsync(home, output, ct);

        using var http = new HttpClient(new SocketsHttpHandler { MaxConnectionsPerServer = 1024, PooledConnectionIdleTimeout = TimeSpan.FromMinutes(5) })
        {
            Timeout = TimeSpan.FromSeconds(10),
        };
        var random = new Random(42);

        var users = Workload.KnownUsers(recommender);
        Func<Uri, CancellationToken, Task> Recommend = (server, token) =>
            GetAsync(http, new Uri(server, $"recommend?user_id={users[Random.Shared.Next(users.Length)]}&k=10"), token);
        var bodies = Workload.ScoreBodies(anomaly, 256);
        Func<Uri, CancellationToken, Task> Score = (server, token) =>
            PostAsync(http, new Uri(server, "score"), bodies[Random.Shared.Next(bodies.Length)], token);

        var results = new List<RouteResults>
        {
            await RouteAsync("/recommend", recommender, "naive-recommender", Recommend,
                [.. ComputeBatches.Select(b => ComputeLimit.Recommender(recommender, b, duration))]),
            await RouteAsync("/score", anomaly, "naive-anomaly", Score,
                [.. ComputeBatches.Select(b => ComputeLimit.Anomaly(anomaly, b, duration))]),
        };

        output.WriteLine();
        output.WriteLine("Framework limit: a trivial Kestrel endpoint (a constant JSON), same client, same cores; for /score a POST of the same bodies");
        Measurement trivial, trivialPost;
        await using (var server = await StartBaselineAsync("trivial", null))
        {
            CpuMonitor.IsServer = p => p.Pid == server.Pid;
            foreach (var rate in options.Rates)
                Print(await Load.OpenLoopAsync("trivial", "GET /trivial open loop", rate, duration, token => GetAsync(http, new Uri(server.Address, "trivial"), token), ct));
            trivial = await ClosedAsync("trivial", "GET /trivial closed loop", server, (s, token) => GetAsync(http, new Uri(s, "trivial"), token));
            trivialPost = await ClosedAsync("trivial", "POST /trivial closed loop", server, (s, token) =>
                PostAsync(http, new Uri(s, "trivial"), bodies[Random.Shared.Next(bodies.Length)], token));
        }

        Report(output, results, new Dictionary<string, Measurement> { ["/recommend"] = trivial, ["/score"] = trivialPost });
        return 0;

        async Task<ServerProcess> StartBaselineAsync(string kind, BenchModel? model) =>
            await ServerProcess.StartAsync(kind, self, ["--serve", kind, "--port", "{port}", .. model is null ? [] : (string[])["--model", model.Path]],
                "ready", Path.Combine(home, $"{kind}.log"), ct);

        async Task<ServerProcess> StartServingAsync(BenchModel model)
        {
            var desired = Path.Combine(home, $"desired-{model.Name}.json");
            await File.WriteAllTextAsync(desired, JsonSerializer.Serialize(
                new ApplyEndpoint($"bench-{model.Name}", 1, [new ServedVersion(model.Name, 1, new Uri(model.Path).AbsoluteUri, model.Sha256, 100)], 1, 1),
                new JsonSerializerOptions(JsonSerializerDefaults.Web)), ct);
            // The models lie in the bench's own artifact root: emo-serve reads model files only under one.
            return await ServerProcess.StartAsync("emo-serve", serve, ["--desired", desired, "--urls", "http://127.0.0.1:{port}",
                $"--Artifacts:Root={Path.GetDirectoryName(Path.GetDirectoryName(model.Path))}", .. options.Device is { } device ? [$"--Serving:Device={device}"] : (string[])[]],
                "v2/health/ready", Path.Combine(home, $"emo-serve-{model.Name}.log"), ct);
        }

        async Task<RouteResults> RouteAsync(string route, BenchModel model, string naiveKind, Func<Uri, CancellationToken, Task> request,
            IReadOnlyList<ComputeLimitResult> compute)
        {
            output.WriteLine();
            output.WriteLine($"{route}");
            foreach (var c in compute)
                output.WriteLine($"  compute limit (in-process, {c.Computation}), batch {c.Batch,2}: {c.RowsPerSecond,10:N0} rows/s");
            var (serving, servingMax, servingSustained) = await ServerAsync("emo-serve", await StartServingAsync(model));
            var (naive, naiveMax, naiveSustained) = await ServerAsync("naive", await StartBaselineAsync(naiveKind, model));
            return new(route, serving, servingMax, servingSustained, naive, naiveMax, naiveSustained, compute);

            async Task<(IReadOnlyList<Measurement>, Measurement, double?)> ServerAsync(string name, ServerProcess server)
            {
                await using var _ = server;
                CpuMonitor.IsServer = p => p.Pid == server.Pid;
                var open = new List<Measurement>();
                foreach (var rate in options.Rates)
                {
                    var m = await Load.OpenLoopAsync(name, $"{route} open loop", rate, duration, token => request(server.Address, token), ct);
                    Print(m);
                    open.Add(m);
                }
                var max = await ClosedAsync(name, $"{route} closed loop", server, request);
                var sustained = await SustainedAsync(name, server, max.PerSecond);
                return (open, max, sustained);
            }

            // The highest open-loop rate with p99 under the bound and no errors: double from a quarter of the closed-loop
            // maximum until a rate is missed (halve while even the first is missed), then bisect between held and missed.
            async Task<double?> SustainedAsync(string name, ServerProcess server, double closedMax)
            {
                async Task<bool> Holds(double rate)
                {
                    var m = await Load.OpenLoopAsync(name, $"{route} search", rate, duration, token => request(server.Address, token), ct);
                    var ok = m.Errors == 0 && m.P99Ms < BenchOptions.SustainedP99Ms;
                    output.WriteLine($"    search {rate,7:N0} req/s: p99 {m.P99Ms,8:N2} ms, errors {m.Errors} → {(ok ? "held" : "missed")}");
                    return ok;
                }
                double? held = null, missed = null;
                var rate = Math.Max(10, Math.Round(closedMax / 4 / 10) * 10);
                for (var i = 0; i < 6 && missed is null; i++, rate *= 2)
                    if (await Holds(rate)) held = rate; else missed = rate;
                for (rate = (missed ?? rate) / 2; held is null && rate >= 10; rate /= 2)
                    if (await Holds(rate)) held = rate; else missed = rate;
                for (var i = 0; i < 3 && held is { } lo && missed is { } hi && hi - lo > 10; i++)
                {
                    var mid = Math.Round((lo + hi) / 2 / 10) * 10;
                    if (await Holds(mid)) held = mid; else missed = mid;
                }
                return held;
            }
        }

        async Task<Measurement> ClosedAsync(string name, string path, ServerProcess server, Func<Uri, CancellationToken, Task> request)
        {
            CpuMonitor.IsServer = p => p.Pid == server.Pid;
            var m = await Load.RunAsync(name, path, options.Clients, duration, (_, token) => request(server.Address, token), ct);
            Print(m);
            return m;
        }

        void Print(Measurement m) =>
            output.WriteLine($"  {m.Subject,-9} {m.Path,-26} {(m.Rate is { } r ? $"{r,6:N0} req/s" : $"{m.Clients,3} clients"),-12}: {m.PerSecond,8:N0} ok/s  " +
                             $"p50 {m.P50Ms,7:N2}  p95 {m.P95Ms,7:N2}  p99 {m.P99Ms,7:N2} ms  errors {m.Errors}  cpu % bench/server/other {m.Cpu}");
    }

    private static async Task GetAsync(HttpClient http, Uri uri, CancellationToken ct)
    {
        using var response = await http.GetAsync(uri, HttpCompletionOption.ResponseContentRead, ct);
        Expect(response);
    }

    private static async Task PostAsync(HttpClient http, Uri uri, byte[] body, CancellationToken ct)
    {
        using var content = new ByteArrayContent(body);
        content.Headers.ContentType = new("application/json");
        using var response = await http.PostAsync(uri, content, ct);
        Expect(response);
    }

    private static void Expect(HttpResponseMessage response)
    {
        if (!response.IsSuccessStatusCode) throw new HttpRequestException($"HTTP {(int)response.StatusCode} {response.ReasonPhrase}");
    }

    /// <param name="frameworks">Each route's framework limit: the trivial endpoint asked as the route is (GET, or POST with its bodies).</param>
    private static void Report(TextWriter w, IReadOnlyList<RouteResults> results, IReadOnlyDictionary<string, Measurement> frameworks)
    {
        w.WriteLine();
        w.WriteLine("=== Results ===");
        foreach (var r in results)
        {
            w.WriteLine();
            w.WriteLine($"{r.Route}: latency from the intended send time (open loop) and maximum throughput (closed loop)");
            Table(w, ["server", "load", "ok/s", "p50 ms", "p95 ms", "p99 ms", "max ms", "errors", "cpu % bench/server/other"],
                r.Serving.Append(r.ServingMax).Concat(r.Naive).Append(r.NaiveMax).Select(m => new[]
                {
                    m.Subject, m.Rate is { } rate ? $"{rate:N0} req/s offered" : $"{m.Clients} clients, closed loop", N(m.PerSecond, 0),
                    N(m.P50Ms), N(m.P95Ms), N(m.P99Ms), N(m.MaxMs), m.Errors.ToString(System.Globalization.CultureInfo.InvariantCulture), m.Cpu.ToString(),
                }));
            var compute = r.Compute.Max(c => c.RowsPerSecond);
            var trivial = frameworks[r.Route];
            w.WriteLine($"  highest rate held with p99 < {BenchOptions.SustainedP99Ms:N0} ms and no errors: emo-serve {Rate(r.ServingSustained)}, naive {Rate(r.NaiveSustained)}");
            w.WriteLine($"  ratios: emo-serve max / naive max {N(r.ServingMax.PerSecond / r.NaiveMax.PerSecond)}×, " +
                        $"/ compute limit ({N(compute, 0)} rows/s in-process) {N(r.ServingMax.PerSecond / compute)}×, " +
                        $"/ framework limit ({N(trivial.PerSecond, 0)} req/s trivial Kestrel, {trivial.Path.Split(' ')[0]}) {N(r.ServingMax.PerSecond / trivial.PerSecond)}×");
            var serial = SerialLimit(compute, trivial.PerSecond);
            w.WriteLine($"  binding limit: compute and framework in series {N(serial, 0)} req/s " +
                        $"({(compute < trivial.PerSecond ? "the computation" : "the framework")} dominates); emo-serve max {r.ServingMax.PerSecond / serial:P0} of it");
        }

        w.WriteLine();
        w.WriteLine("Targets (2 cores, load generator included)");
        var recommend = results.Single(r => r.Route == "/recommend");
        if (recommend.Serving.FirstOrDefault(m => m.Rate == TargetRate) is { } at1000)
            Verdict(w, $"/recommend p95 < {RecommendP95TargetMs:N0} ms at {TargetRate:N0} req/s with zero errors", $"p95 {N(at1000.P95Ms)} ms, {at1000.Errors} errors",
                at1000.P95Ms < RecommendP95TargetMs && at1000.Errors == 0);
        else
            w.WriteLine($"  (not measured)  /recommend at {TargetRate:N0} req/s: add it to --rates");
        var computeLimit = recommend.Compute.Max(c => c.RowsPerSecond);
        Verdict(w, $"/recommend max throughput ≥ {NaiveFactorTarget:N0}× the naive server's", $"{N(recommend.ServingMax.PerSecond / recommend.NaiveMax.PerSecond)}×",
            recommend.ServingMax.PerSecond >= NaiveFactorTarget * recommend.NaiveMax.PerSecond);
        Verdict(w, $"/recommend max throughput ≥ {ComputeShareTarget:P0} of the in-process computation", $"{recommend.ServingMax.PerSecond / computeLimit:P0}",
            recommend.ServingMax.PerSecond >= ComputeShareTarget * computeLimit);
        foreach (var r in results)
        {
            var serial = SerialLimit(r.Compute.Max(c => c.RowsPerSecond), frameworks[r.Route].PerSecond);
            Verdict(w, $"{r.Route} max throughput ≥ {SerialShareTarget:P0} of compute and framework in series", $"{r.ServingMax.PerSecond / serial:P0}",
                r.ServingMax.PerSecond >= SerialShareTarget * serial);
        }
        var score = results.Single(r => r.Route == "/score");
        Verdict(w, $"/score max throughput ≥ {ScoreNaiveFactorTarget:N1}× the naive server's", $"{N(score.ServingMax.PerSecond / score.NaiveMax.PerSecond)}×",
            score.ServingMax.PerSecond >= ScoreNaiveFactorTarget * score.NaiveMax.PerSecond);
        if (score.Serving.FirstOrDefault(m => m.Rate == 100) is { } scoreAt100 && score.Naive.FirstOrDefault(m => m.Rate == 100) is { } naiveAt100)
            Verdict(w, $"/score p95 at 100 req/s within {ScoreP95RatioTarget:N1}× the naive server's",
                $"{N(scoreAt100.P95Ms)} vs {N(naiveAt100.P95Ms)} ms ({N(scoreAt100.P95Ms / naiveAt100.P95Ms)}×)", scoreAt100.P95Ms <= ScoreP95RatioTarget * naiveAt100.P95Ms);
        else
            w.WriteLine("  (not measured)  /score at 100 req/s: add it to --rates");
        if (recommend.Serving.FirstOrDefault(m => m.Rate == 100) is { } at100)
            w.WriteLine($"  beside the paper's figure (p95 ≈ 110 ms at 100 req/s on 4 pods): /recommend p95 {N(at100.P95Ms)} ms at 100 req/s on one process, 2 cores");
    }

    private static string Rate(double? rate) => rate is { } r ? $"{r:N0} req/s" : "none of the rates tried";

    private static void Verdict(TextWriter w, string target, string measured, bool met) =>
        w.WriteLine($"  {(met ? "MET   " : "MISSED")}  {target,-70} {measured}");
}
