namespace EventMlOps.Contracts.Streams;

/// <summary>One reading of a machine's sensors at event time <paramref name="Time"/>; <paramref name="Values"/> in the
/// order of the batch's features.</summary>
public sealed record SensorReading(string Machine, DateTimeOffset Time, double[] Values);

/// <summary>A batch of sensor readings for an endpoint's stream scorer, published on <see cref="Queue"/>.
/// <paramref name="BatchId"/> makes a redelivered batch count once.</summary>
public sealed record SensorReadings(Guid BatchId, string Endpoint, IReadOnlyList<string> Features, IReadOnlyList<SensorReading> Readings)
{
    public const string Queue = "emo-readings";
}

/// <summary>An anomaly episode began on a machine: the first window whose score reached the version's threshold.</summary>
public sealed record AnomalyAlarmRaised(
    Guid CommandId, string Endpoint, string Machine, int Version, DateTimeOffset WindowStart, DateTimeOffset WindowEnd, double Score,
    double Threshold) : IEndpointFact;

/// <summary>A machine's anomaly episode ended: its windows scored below the threshold again. <paramref name="RaisedWindowStart"/>
/// names the episode (with the machine); <paramref name="Windows"/> anomalous windows, the highest <paramref name="MaxScore"/>.</summary>
public sealed record AnomalyAlarmCleared(
    Guid CommandId, string Endpoint, string Machine, int Version, DateTimeOffset RaisedWindowStart, DateTimeOffset ClearedWindowEnd, int Windows,
    double MaxScore) : IEndpointFact;
