using System.Globalization;

namespace EventMlOps.Contracts.Training;

/// <summary>A numeric hyperparameter a trainer kind accepts from a run request, with the bounds the trainer enforces.</summary>
public sealed record TrainerParameter(string Name, double Min, double Max, bool Whole = false);

/// <summary>The trainer kinds a run may ask for and the hyperparameters each declares, so that a request the trainer would
/// refuse (<c>epochs=1e300</c>, an option the agent sets itself such as <c>out</c> or <c>device</c>, a misspelt name) is refused
/// when it is made, not when the job runs. The built-in kinds mirror emo-train's options (a test keeps them equal); more
/// kinds may be declared by configuration for other trainers.</summary>
public sealed class TrainerCatalog(IReadOnlyDictionary<string, IReadOnlyList<TrainerParameter>> kinds)
{
    private static readonly TrainerParameter[] Common =
    [
        new("epochs", 1, 10_000, Whole: true), new("lr", 1e-7, 10), new("batch_size", 1, 1 << 24, Whole: true), new("seed", 0, int.MaxValue, Whole: true),
        new("threads", 1, 1024, Whole: true), new("fault_latency_ms", 0, 600_000, Whole: true), new("fault_error_rate", 0, 1),
    ];

    public static readonly TrainerCatalog BuiltIn = new(new Dictionary<string, IReadOnlyList<TrainerParameter>>
    {
        ["recommender"] =
        [
            .. Common, new("factors", 1, 4096, Whole: true), new("negatives", 0, 1000, Whole: true),
            new("users", 2, 10_000_000, Whole: true), new("items", 2, 10_000_000, Whole: true), new("interactions", 2, 500_000_000, Whole: true),
        ],
        ["anomaly"] =
        [
            .. Common, new("window", 1, 100_000, Whole: true), new("stride", 1, 100_000, Whole: true), new("target_fpr", 0, 1),
            new("train_fraction", 0.05, 0.95), new("validation_fraction", 0.01, 0.95), new("machines", 1, 100_000, Whole: true), new("days", 0.1, 100_000),
        ],
    });

    public IReadOnlyDictionary<string, IReadOnlyList<TrainerParameter>> Kinds { get; } = kinds;

    /// <summary>This catalog with more kinds (e.g. declared by configuration).</summary>
    public TrainerCatalog With(IReadOnlyDictionary<string, IReadOnlyList<TrainerParameter>> more) =>
        new(Kinds.Concat(more).GroupBy(k => k.Key).ToDictionary(g => g.Key, g => g.Last().Value));

    /// <summary>Option names compare as the trainer's command line compares them: case aside, '-' and '_' alike.</summary>
    public static string Normalize(string name) => name.ToLowerInvariant().Replace('-', '_');

    /// <summary>Null when <paramref name="kind"/> is known and every hyperparameter is declared and within its bounds;
    /// else the field at fault and why (never echoing more than a short name).</summary>
    public (string Field, string Reason)? Problem(string kind, IReadOnlyDictionary<string, double>? hyperparameters)
    {
        if (!Kinds.TryGetValue(kind, out var declared))
            return ("trainerKind", $"is not a known trainer kind: {string.Join(", ", Kinds.Keys.Order())}");
        foreach (var (name, value) in hyperparameters ?? new Dictionary<string, double>())
        {
            var shown = name.Length <= 40 && name.All(c => char.IsAsciiLetterOrDigit(c) || c is '_' or '-' or '.') ? name : "?";
            if (declared.FirstOrDefault(p => p.Name == Normalize(name)) is not { } p)
                return ($"hyperparameters.{shown}", $"is not a hyperparameter of the {kind} trainer; it takes {string.Join(", ", declared.Select(d => d.Name))}");
            if (!double.IsFinite(value) || value < p.Min || value > p.Max || (p.Whole && value != Math.Floor(value)))
                return ($"hyperparameters.{shown}",
                    $"must be {(p.Whole ? "a whole number" : "a number")} in [{p.Min.ToString(CultureInfo.InvariantCulture)}, {p.Max.ToString(CultureInfo.InvariantCulture)}]");
        }
        return null;
    }
}
