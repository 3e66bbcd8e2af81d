using System.Globalization;

namespace EventMlOps.Contracts.Training;

/// <summary>A numeric option a trainer takes, with the bounds the trainer enforces. <see cref="Name"/> is written as
/// <see cref="TrainerCatalog.Normalize"/> writes it.</summary>
public sealed record TrainerParameter(string Name, double Min, double Max, bool Whole = false)
{
    public bool Accepts(double value) => double.IsFinite(value) && value >= Min && value <= Max && (!Whole || value == Math.Floor(value));

    /// <summary>What <see cref="Accepts"/> takes, for messages: "a whole number in [1, 10000]".</summary>
    public string Range =>
        $"{(Whole ? "a whole number" : "a number")} in [{Min.ToString(CultureInfo.InvariantCulture)}, {Max.ToString(CultureInfo.InvariantCulture)}]";
}

/// <summary>A text option a trainer takes (a list, a name, a duration, a moment), with the form the trainer accepts: a
/// whole-value pattern, and its description for messages. Values never begin with '-' (they travel as a trainer's
/// arguments, after their option's name) and are short.</summary>
public sealed record TrainerOption(string Name, [property: System.Diagnostics.CodeAnalysis.StringSyntax("Regex")] string Pattern, string Form)
{
    public const int MaxLength = 1000;

    public bool Accepts(string? value) =>
        value is { Length: > 0 and <= MaxLength } && value[0] != '-' && System.Text.RegularExpressions.Regex.IsMatch(value, $"^(?:{Pattern})$", System.Text.RegularExpressions.RegexOptions.None, TimeSpan.FromMilliseconds(100));
}

/// <summary>The trainer kinds a run may ask for, the hyperparameters each declares and the parameters of its
/// <c>generate://&lt;kind&gt;?name=value&amp;…</c> datasets, so that what the trainer would refuse (<c>epochs=1e300</c>, an
/// option the agent sets itself such as <c>out</c> or <c>device</c>, a misspelt name) is refused when it is asked for, not
/// when the job runs. emo-train reads the built-in kinds' bounds from here (its tests keep its options and these equal);
/// more kinds may be declared by configuration for other trainers.</summary>
public sealed class TrainerCatalog(
    IReadOnlyDictionary<string, IReadOnlyList<TrainerParameter>> kinds,
    IReadOnlyDictionary<string, IReadOnlyList<TrainerParameter>>? generators = null,
    IReadOnlyDictionary<string, IReadOnlyDictionary<string, double>>? shares = null,
    IReadOnlyDictionary<string, IReadOnlyList<TrainerOption>>? options = null)
{
    public const string Recommender = "recommender", Anomaly = "anomaly";

    private static readonly TrainerParameter Seed = new("seed", 0, int.MaxValue, Whole: true);

    // The generators' sizes are also hyperparameters: the agent passes both as the trainer's options, and a run's wins.
    private static readonly TrainerParameter[] RecommenderGenerator =
    [
        Seed, new("users", 2, 10_000_000, Whole: true), new("items", 2, 10_000_000, Whole: true), new("interactions", 2, 500_000_000, Whole: true),
    ];

    private static readonly TrainerParameter[] AnomalyGenerator =
        [Seed, new("machines", 1, 100_000, Whole: true), new("days", 0.1, 100_000), new("recalibration", -50, 50)];

    // Not data, out, generate or device: the agent sets those itself (and refuses them from a run).
    private static readonly TrainerParameter[] Common =
    [
        new("epochs", 1, 10_000, Whole: true), new("lr", 1e-7, 10), new("batch_size", 1, 1 << 24, Whole: true),
        new("threads", 1, 1024, Whole: true), new("fault_latency_ms", 0, 600_000, Whole: true), new("fault_error_rate", 0, 1),
    ];

    private static readonly TrainerOption Layers = new("layers", @"\d{1,7}(,\d{1,7}){0,31}", "comma-separated layer sizes such as 256,64,8");
    private const string Duration = @"\d{1,9}(\.\d{1,6})?(ms|s|m|h)";
    private const string Moment = @"\d{4}-\d{2}-\d{2}([T ]\d{2}:\d{2}(:\d{2}(\.\d{1,7})?)?)?(Z|[+-]\d{2}:?\d{2})?";

    public static readonly TrainerCatalog BuiltIn = new(
        new Dictionary<string, IReadOnlyList<TrainerParameter>>
        {
            [Recommender] = [.. Common, .. RecommenderGenerator, new("factors", 1, 4096, Whole: true), new("negatives", 0, 1000, Whole: true)],
            [Anomaly] =
            [
                .. Common, .. AnomalyGenerator, new("window", 1, 100_000, Whole: true), new("stride", 1, 100_000, Whole: true), new("target_fpr", 0, 1),
                new("train_fraction", 0.05, 0.95), new("validation_fraction", 0.01, 0.94), new("zscore_history", 2, 1_000_000, Whole: true),
                new("raise_after", 1, 10_000, Whole: true), new("clear_after", 1, 10_000, Whole: true),
            ],
        },
        new Dictionary<string, IReadOnlyList<TrainerParameter>> { [Recommender] = RecommenderGenerator, [Anomaly] = AnomalyGenerator },
        // The anomaly trainer's train and validation parts of each timeline leave a test part.
        new Dictionary<string, IReadOnlyDictionary<string, double>> { [Anomaly] = new Dictionary<string, double> { ["train_fraction"] = 0.6, ["validation_fraction"] = 0.2 } },
        new Dictionary<string, IReadOnlyList<TrainerOption>>
        {
            [Recommender] = [Layers],
            [Anomaly] =
            [
                Layers with { Name = "hidden" },
                new("features", @"[A-Za-z0-9_.]{1,64}(,[A-Za-z0-9_.]{1,64}){0,255}", "comma-separated column names such as temperature,vibration"),
                new("cadence", Duration, "a duration such as 60s or 5m"),
                new("gap_tolerance", $"0|{Duration}", "0 or a duration such as 3m"),
                new("normalisation", "training|window", "training or window"),
                new("train_until", Moment, "an ISO 8601 moment such as 2024-01-20T00:00:00Z"),
                new("validate_until", Moment, "an ISO 8601 moment such as 2024-01-24T00:00:00Z"),
            ],
        });

    /// <summary>Per trainer kind, the hyperparameters a run request may set.</summary>
    public IReadOnlyDictionary<string, IReadOnlyList<TrainerParameter>> Kinds { get; } = kinds;

    /// <summary>Per trainer kind that can generate its data, the parameters a <c>generate://</c> dataset may set.</summary>
    public IReadOnlyDictionary<string, IReadOnlyList<TrainerParameter>> Generators { get; } =
        generators ?? new Dictionary<string, IReadOnlyList<TrainerParameter>>();

    /// <summary>Per trainer kind, hyperparameters that share one whole: their values add up to less than 1, each the
    /// run's value or else the trainer's default given here.</summary>
    public IReadOnlyDictionary<string, IReadOnlyDictionary<string, double>> Shares { get; } =
        shares ?? new Dictionary<string, IReadOnlyDictionary<string, double>>();

    /// <summary>Per trainer kind, the text options a run request may set (<c>--param hidden=256,64,8</c>).</summary>
    public IReadOnlyDictionary<string, IReadOnlyList<TrainerOption>> Options { get; } = options ?? new Dictionary<string, IReadOnlyList<TrainerOption>>();

    /// <summary>This catalog with more kinds (e.g. declared by configuration); their datasets are not generated, and they
    /// take numeric hyperparameters only.</summary>
    public TrainerCatalog With(IReadOnlyDictionary<string, IReadOnlyList<TrainerParameter>> more) =>
        new(Kinds.Concat(more).GroupBy(k => k.Key).ToDictionary(g => g.Key, g => g.Last().Value), Generators, Shares,
            Options.Where(o => !more.ContainsKey(o.Key)).ToDictionary());

    /// <summary>Whether <paramref name="name"/> is a text option of <paramref name="kind"/> (the CLI sends those as options, even when they read as a number).</summary>
    public bool IsOption(string kind, string name) => Options.TryGetValue(kind, out var declared) && declared.Any(o => o.Name == Normalize(name));

    /// <summary>Option names compare as the trainer's command line compares them: case aside, '-' and '_' alike.</summary>
    public static string Normalize(string name) => name.ToLowerInvariant().Replace('-', '_');

    /// <summary>Null when <paramref name="kind"/> is known and every hyperparameter is declared and within its bounds;
    /// else the field at fault and why (never echoing more than a short name).</summary>
    public (string Field, string Reason)? Problem(string kind, IReadOnlyDictionary<string, double>? hyperparameters,
        IReadOnlyDictionary<string, string>? options = null)
    {
        if (!Kinds.TryGetValue(kind, out var declared))
            return ("trainerKind", $"is not a known trainer kind: {string.Join(", ", Kinds.Keys.Order(StringComparer.Ordinal))}");
        foreach (var (name, value) in hyperparameters ?? new Dictionary<string, double>())
        {
            if (Find(declared, name) is not { } p)
                return ($"hyperparameters.{Shown(name)}", $"is not a hyperparameter of the {kind} trainer; it takes {string.Join(", ", declared.Select(d => d.Name))}");
            if (!p.Accepts(value))
                return ($"hyperparameters.{Shown(name)}", $"must be {p.Range}");
        }
        var textual = Options.GetValueOrDefault(kind) ?? [];
        var seen = new HashSet<string>(StringComparer.Ordinal);
        foreach (var (name, value) in options ?? new Dictionary<string, string>())
        {
            if (textual.FirstOrDefault(o => o.Name == Normalize(name)) is not { } o)
                return ($"options.{Shown(name)}", textual.Count == 0
                    ? $"the {kind} trainer takes no text options"
                    : $"is not a text option of the {kind} trainer; it takes {string.Join(", ", textual.Select(d => d.Name))}");
            if (!o.Accepts(value))
                return ($"options.{o.Name}", $"must be {o.Form}");
            if (hyperparameters?.Keys.Any(h => Normalize(h) == o.Name) == true || !seen.Add(o.Name))
                return ($"options.{o.Name}", "is given more than once");
        }
        if (Shares.TryGetValue(kind, out var shares) && shares.Sum(s => Given(hyperparameters, s.Key) ?? s.Value) >= 1)
            return ("hyperparameters", $"{string.Join(" + ", shares.Keys)} must be less than 1 (defaults {string.Join(", ", shares.Select(s => $"{s.Key} {s.Value.ToString(CultureInfo.InvariantCulture)}"))})");
        return null;
    }

    /// <summary>Null when a <c>generate://<paramref name="kind"/>?…</c> dataset's parameters (decoded, in order) are each
    /// declared once for that kind's generator and within bounds; else why, naming the parameter.</summary>
    public string? GeneratorProblem(string kind, IReadOnlyList<KeyValuePair<string, string>> parameters)
    {
        if (!Generators.TryGetValue(kind, out var declared))
            return $"no trainer generates its data under that kind; generators: {string.Join(", ", Generators.Keys.Order(StringComparer.Ordinal))}";
        var seen = new HashSet<string>(StringComparer.Ordinal);
        foreach (var (name, text) in parameters)
        {
            if (Find(declared, name) is not { } p)
                return $"'{Shown(name)}' is not a parameter of the {kind} generator; it takes {string.Join(", ", declared.Select(d => d.Name))}";
            if (!seen.Add(p.Name))
                return $"generator parameter '{p.Name}' is given more than once";
            if (!double.TryParse(text, NumberStyles.Float, CultureInfo.InvariantCulture, out var value) || !p.Accepts(value))
                return $"generator parameter '{p.Name}' must be {p.Range}";
        }
        return null;
    }

    private static double? Given(IReadOnlyDictionary<string, double>? hyperparameters, string name) =>
        hyperparameters?.Where(h => Normalize(h.Key) == name).Select(h => (double?)h.Value).FirstOrDefault();

    private static TrainerParameter? Find(IReadOnlyList<TrainerParameter> declared, string name) =>
        declared.FirstOrDefault(p => p.Name == Normalize(name));

    // A name is echoed only when short and plain: a request's text never travels whole into a message.
    private static string Shown(string name) =>
        name.Length <= 40 && name.All(c => char.IsAsciiLetterOrDigit(c) || c is '_' or '-' or '.') ? name : "?";
}
