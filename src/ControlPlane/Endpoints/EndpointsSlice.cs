using Marten;
using JasperFx.Events.Projections;

namespace EventMlOps.ControlPlane.Endpoints;

/// <summary>What the endpoints slice adds to the store (its routes: <see cref="EndpointsApi"/>).</summary>
public static class EndpointsSlice
{
    public static void ConfigureEndpoints(this StoreOptions o)
    {
        o.Projections.Snapshot<EndpointState>(SnapshotLifecycle.Inline);
        o.Projections.Snapshot<EndpointStatus>(SnapshotLifecycle.Inline);
        o.Schema.For<EndpointState>().Index(x => x.ModelName);
    }
}
