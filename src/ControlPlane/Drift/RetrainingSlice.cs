using JasperFx.Events.Projections;
using Marten;

namespace EventMlOps.ControlPlane.Drift;

/// <summary>What the closed loop adds to the store (its read: <see cref="ModelPolicyQuery"/>).</summary>
public static class RetrainingSlice
{
    public static void ConfigureRetraining(this StoreOptions o)
    {
        o.Projections.Snapshot<RetrainingLoop>(SnapshotLifecycle.Inline);
        o.Schema.For<RetrainingLoop>().Index(x => x.ModelName);
    }
}
