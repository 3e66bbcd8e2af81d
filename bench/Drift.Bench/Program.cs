using System.Diagnostics;
using System.Globalization;
using EventMlOps.Agents.Drift;
using EventMlOps.Bench;
using EventMlOps.Contracts.Drift;

// The drift agent's work for one window: every feature of 10,000 served values scored against its 1,000-value training
// reference, per method and under the default policy, against sorting the same values (the floor of any rank test).
return await BenchMain.RunAsync(args, Usage, Parse, options =>
{
    var rng = new Random(14);
    var features = Enumerable.Range(0, options.Features).Select(f => $"f{f}").ToArray();
    var current = features.Select(_ => Normal(rng, options.Samples, 0.1, 1.1)).ToArray();
    FeatureReference Reference(string name, long count) =>
        new(name, FeatureRole.Input, count, 1, Normal(rng, DriftBaseline.MaxReference, 0, 1).Order().ToArray(), false);
    var small = features.Select(f => Reference(f, DriftBaseline.MaxReference)).ToArray();
    var large = features.Select(f => Reference(f, 100_000)).ToArray();
    // chi-squared compares categories: the same values in half-unit steps (about 15 categories), as continuous values
    // would stop it at the first one the reference lacks
    static double Step(double v) => Math.Round(v * 2) / 2;
    var categorical = small.Select(r => r with { Values = r.Values.Select(Step).ToArray(), Categorical = true }).ToArray();
    var currentCategories = current.Select(values => values.Select(Step).ToArray()).ToArray();

    var sorting = Measure(options.Rounds, () =>
    {
        foreach (var values in current) ((double[])values.Clone()).AsSpan().Sort();
    });
    var rows = new List<(string Name, double Ms)>();
    foreach (var method in Enum.GetValues<DriftMethod>().Where(m => m != DriftMethod.Auto))
    {
        var policy = new DriftPolicy(features.ToDictionary(f => f, _ => new DriftTest(method, 0.1)));
        rows.Add(method == DriftMethod.ChiSquared
            ? ("ChiSquared (≈15 categories)", Measure(options.Rounds, () => Score(categorical, currentCategories, policy)))
            : (method.ToString(), Measure(options.Rounds, () => Score(small, current, policy))));
    }
    var smallDefault = Measure(options.Rounds, () => Score(small, current, DriftPolicy.Default));
    var largeDefault = Measure(options.Rounds, () => Score(large, current, DriftPolicy.Default));
    rows.Add(("default policy, ≤ 1,000 training values (KS)", smallDefault));
    rows.Add(("default policy, 100,000 training values (Wasserstein)", largeDefault));

    Console.WriteLine($"Drift statistics: {options.Features} features × {options.Samples:N0} current values against {DriftBaseline.MaxReference:N0}-value references, median of {options.Rounds} rounds");
    Console.WriteLine(Text.Machine());
    Text.Table(Console.Out, ["measure", "ms per window", "× sorting"],
        [["baseline: Array.Sort of the same values", Text.N(sorting, 3), "1.00"], .. rows.Select(r => new[] { r.Name, Text.N(r.Ms, 3), Text.N(r.Ms / sorting) })]);
    var worst = Math.Max(smallDefault, largeDefault);
    Console.WriteLine($"target: default policy < 5 ms per window — {(worst < 5 ? "met" : "MISSED")} ({Text.N(worst, 3)} ms)");
    return Task.FromResult(worst < 5 ? 0 : 1);
});

static void Score(FeatureReference[] references, double[][] current, DriftPolicy policy)
{
    for (var f = 0; f < references.Length; f++) DriftMeasure.Score(references[f], current[f], policy);
}

static double Measure(int rounds, Action work)
{
    for (var i = 0; i < Math.Max(3, rounds / 10); i++) work(); // warm-up: tiered compilation, caches
    var times = new double[rounds];
    for (var i = 0; i < rounds; i++)
    {
        var clock = Stopwatch.StartNew();
        work();
        times[i] = clock.Elapsed.TotalMilliseconds;
    }
    Array.Sort(times);
    return times[rounds / 2];
}

static double[] Normal(Random rng, int count, double mean, double std) =>
    Enumerable.Range(0, count).Select(_ => mean + std * Math.Sqrt(-2 * Math.Log(1 - rng.NextDouble())) * Math.Cos(2 * Math.PI * rng.NextDouble())).ToArray();

static Options Parse(string[] args)
{
    var options = new Options();
    for (var i = 0; i < args.Length; i++)
    {
        int Value() => i + 1 < args.Length ? int.Parse(args[++i], CultureInfo.InvariantCulture) : throw new ArgumentException($"{args[i]} needs a value");
        options = args[i] switch
        {
            "--rounds" => options with { Rounds = Value() },
            "--samples" => options with { Samples = Value() },
            "--features" => options with { Features = Value() },
            _ => throw new ArgumentException($"unknown option '{args[i]}'"),
        };
    }
    if (options.Rounds < 1 || options.Samples < 1 || options.Features < 1) throw new ArgumentException("--rounds, --samples and --features must be ≥ 1");
    return options;
}

internal sealed record Options(int Rounds = 200, int Samples = 10_000, int Features = 3);

internal static partial class Program
{
    private const string Usage = """
        Usage: dotnet bench/Drift.Bench/bin/Release/net10.0/EventMlOps.Drift.Bench.dll [options]

          --rounds N     measured rounds per row; the median is printed (default 200)
          --samples N    current values per feature in a window (default 10000)
          --features N   features per window (default 3)
        """;
}
