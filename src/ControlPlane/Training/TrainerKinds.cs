using EventMlOps.Contracts.Training;

namespace EventMlOps.ControlPlane.Training;

/// <summary>The catalog a control plane accepts runs for: emo-train's kinds, and the kinds configured for other trainers —
/// <c>Training:Kinds:&lt;kind&gt;</c> = comma-separated hyperparameter names, each a finite number in [0, 1e9].</summary>
public static class TrainerKinds
{
    public static TrainerCatalog From(IConfiguration config) => TrainerCatalog.BuiltIn.With(config.GetSection("Training:Kinds").GetChildren()
        .ToDictionary(k => k.Key, k => (IReadOnlyList<TrainerParameter>)[.. (k.Value ?? "").Split(',', StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries)
            .Select(name => new TrainerParameter(TrainerCatalog.Normalize(name), 0, 1e9))]));
}
