using Marten;
using JasperFx.Events.Projections;
using static Marten.Services.Json.Transformations.SystemTextJson.JsonTransformations;

namespace EventMlOps.ControlPlane.Registry;

/// <summary>What the registry slice adds to the store (its routes: <see cref="RegistryApi"/>).</summary>
public static class RegistrySlice
{
    public static void ConfigureRegistry(this StoreOptions o)
    {
        o.Projections.Snapshot<ModelVersion>(SnapshotLifecycle.Inline);
        o.Projections.Snapshot<ModelPolicy>(SnapshotLifecycle.Inline);
        o.Schema.For<ModelVersion>().Index(x => x.ModelName).Index(x => x.DatasetSha256);
        // An event whose shape changes gets the next schema version (its stored name ends _v{n}) and an upcaster for the
        // shape before, by that shape's stored name: histories already written keep being read (README: Export and import).
        o.Events.MapEventTypeWithSchemaVersion<ModelVersionRegistered>(2);
        o.Events.Upcast<ModelVersionRegistered>("model_version_registered", Upcast(ModelVersionRegistered.FromVersion1));
    }
}
