using EventMlOps.Contracts;
using EventMlOps.Contracts.Drift;
using EventMlOps.Contracts.Registry;

namespace EventMlOps.ControlPlane.Registry;

public sealed record ModelPolicySet(string ModelName, DriftPolicy Drift, RetrainingPolicy? Retraining, string SetBy, DateTimeOffset SetAt);

/// <summary>A model's policies (stream <c>model-policy:{name}</c>): its drift policy and what a drift alarm does.</summary>
public sealed record ModelPolicy(string Id, string ModelName, DriftPolicy Drift, RetrainingPolicy? Retraining, string SetBy, DateTimeOffset SetAt)
{
    [Marten.Schema.Version]
    public long StreamVersion { get; init; }

    public static ModelPolicy Create(ModelPolicySet e) => new(StreamKeys.ModelPolicy(e.ModelName), e.ModelName, e.Drift, e.Retraining, e.SetBy, e.SetAt);

    public ModelPolicy Apply(ModelPolicySet e) => Create(e) with { StreamVersion = StreamVersion };
}
