using Marten;
using JasperFx.Events.Projections;

namespace EventMlOps.ControlPlane.Registry;

/// <summary>What the registry slice adds to the store (its routes: <see cref="RegistryApi"/>).</summary>
public static class RegistrySlice
{
    public static void ConfigureRegistry(this StoreOptions o)
    {
        o.Projections.Snapshot<ModelVersion>(SnapshotLifecycle.Inline);
        o.Projections.Snapshot<ModelPolicy>(SnapshotLifecycle.Inline);
        o.Schema.For<ModelVersion>().Index(x => x.ModelName).Index(x => x.DatasetSha256);
    }
}
