using System.Security.Cryptography;
using System.Text;
using System.Text.RegularExpressions;

namespace EventMlOps.Contracts.Streams;

/// <summary>One reading of a machine's sensors at event time <paramref name="Time"/>; <paramref name="Values"/> in the
/// order of the batch's features.</summary>
public sealed record SensorReading(string Machine, DateTimeOffset Time, double[] Values);

/// <summary>A batch of sensor readings for an endpoint's stream scorer, published on <see cref="QueueOf"/> its endpoint.
/// <paramref name="BatchId"/> makes a redelivered batch count once.</summary>
public sealed record SensorReadings(Guid BatchId, string Endpoint, IReadOnlyList<string> Features, IReadOnlyList<SensorReading> Readings)
{
    public const string Queue = "emo-readings";

    /// <summary>Most readings in one batch; a larger batch is refused whole.</summary>
    public const int MaxReadings = 10_000;

    /// <summary>A machine's name: 1 to <see cref="MaxMachineLength"/> letters, digits, '.', '_', '-' or ':'.</summary>
    public const int MaxMachineLength = 64;

    private static readonly Regex MachineName = new("^[A-Za-z0-9][A-Za-z0-9._:-]*\\z", RegexOptions.CultureInvariant);
    private static readonly Regex NotQueueLabel = new("[^a-z0-9-]+", RegexOptions.CultureInvariant);

    public static bool IsMachine(string? name) => name is { Length: > 0 and <= MaxMachineLength } && MachineName.IsMatch(name);

    /// <summary>The queue (or topic) of one endpoint's readings, <c>emo-readings-{endpoint}</c>: one scorer per endpoint
    /// consumes it, since a machine's windows need all its readings. Names that are not short lowercase labels get a hash
    /// of the endpoint's name instead of their tail, so two endpoints never share a queue and every transport takes it.</summary>
    public static string QueueOf(string endpoint)
    {
        var label = NotQueueLabel.Replace(endpoint, "-").Trim('-');
        if (label == endpoint && label.Length <= 24) return $"{Queue}-{label}";
        var hash = Convert.ToHexStringLower(SHA256.HashData(Encoding.UTF8.GetBytes(endpoint)))[..8];
        return $"{Queue}-{label[..Math.Min(label.Length, 15)].TrimEnd('-')}-{hash}";
    }
}

/// <summary>An anomaly episode began on a machine: the first window whose score reached the version's threshold.</summary>
public sealed record AnomalyAlarmRaised(
    Guid CommandId, string Endpoint, string Machine, int Version, DateTimeOffset WindowStart, DateTimeOffset WindowEnd, double Score,
    double Threshold) : IReplicaFact;

/// <summary>A machine's anomaly episode ended: its windows scored below the threshold again. <paramref name="RaisedWindowStart"/>
/// names the episode (with the machine); <paramref name="Windows"/> anomalous windows, the highest <paramref name="MaxScore"/>.</summary>
public sealed record AnomalyAlarmCleared(
    Guid CommandId, string Endpoint, string Machine, int Version, DateTimeOffset RaisedWindowStart, DateTimeOffset ClearedWindowEnd, int Windows,
    double MaxScore) : IReplicaFact;
