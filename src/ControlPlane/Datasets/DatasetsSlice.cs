using Marten;
using JasperFx.Events.Projections;

namespace EventMlOps.ControlPlane.Datasets;

/// <summary>What the datasets slice adds to the store (its routes: <see cref="DatasetsApi"/>).</summary>
public static class DatasetsSlice
{
    public static void ConfigureDatasets(this StoreOptions o)
    {
        o.Projections.Snapshot<Dataset>(SnapshotLifecycle.Inline);
        o.Schema.For<Dataset>().Index(x => x.Sha256).Index(x => x.Name);
    }
}
