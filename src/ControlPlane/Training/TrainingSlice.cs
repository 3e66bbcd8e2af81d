using Marten;
using JasperFx.Events.Projections;

namespace EventMlOps.ControlPlane.Training;

/// <summary>What the training slice adds to the store (its routes: <see cref="TrainingApi"/> and the tracking API).</summary>
public static class TrainingSlice
{
    public static void ConfigureTraining(this StoreOptions o)
    {
        o.Projections.Snapshot<TrainingRun>(SnapshotLifecycle.Inline);
        o.Projections.Snapshot<RunTracking>(SnapshotLifecycle.Inline);
        o.Schema.For<TrainingRun>().Index(x => x.DatasetSha256).Index(x => x.ModelName).Index(x => x.ExperimentId);
        // MLflow's experiments: a name is unique, also between two creators racing (the index refuses the second).
        o.Projections.Snapshot<Mlflow.Experiment>(SnapshotLifecycle.Inline);
        o.Schema.For<Mlflow.Experiment>().UniqueIndex(x => x.Name);
        o.Projections.Snapshot<Mlflow.RegisteredModel>(SnapshotLifecycle.Inline);
        o.Schema.For<RunLiveness>().Index(x => x.LastBeatAt);
        // Applied by no projection any more, yet in older histories: known, so that an imported one is read.
        o.Events.AddEventType<TrainingRunHeartbeat>();
    }
}
