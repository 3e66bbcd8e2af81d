using EventMlOps.Agents.Hosting;
using EventMlOps.Agents.Runtime;
using Microsoft.Extensions.Configuration;

namespace EventMlOps.Agents.Serving;

/// <summary>What a replica needs to score its endpoint's sensor readings (<c>emo-serve --stream</c>) on the agents' own
/// transport: the queue schema and bus in <paramref name="Environment"/>, the database and a broker URI (which may carry
/// credentials) in <paramref name="Secrets"/> — never on its command line. A replica of an endpoint that is not an anomaly
/// detector listens too; no reading is published for it, and one that comes is refused.</summary>
/// <param name="DatabaseSecret">On Kubernetes, the Secret (name, key) the replica reads its database connection string
/// from (<c>Kubernetes:StreamDatabaseSecret</c>, <c>Kubernetes:StreamDatabaseKey</c>): the agents never copy theirs there.</param>
public sealed record ReplicaStream(
    IReadOnlyDictionary<string, string> Environment,
    IReadOnlyDictionary<string, string> Secrets,
    (string Name, string Key)? DatabaseSecret)
{
    public const string DatabaseKey = "Serving__Stream__Database";

    /// <summary><c>Serving:Streams</c> (default true); null (streams off) when it is false, when no database is known
    /// (locally: the agents' own, <see cref="Store.ConnectionString"/>; on Kubernetes: <c>Kubernetes:StreamDatabaseSecret</c>).</summary>
    public static ReplicaStream? From(IConfiguration config)
    {
        if (!config.GetValue("Serving:Streams", true)) return null;
        var bus = BusSettings.From(config);
        var environment = new Dictionary<string, string> { ["Serving__Stream__QueueSchema"] = Store.Schema(config) + "_queues" };
        var secrets = new Dictionary<string, string>();
        switch (bus.Transport)
        {
            case BusTransport.RabbitMq: secrets["Bus__RabbitMq"] = bus.Address!; break;
            case BusTransport.Kafka: environment["EMO_KAFKA"] = bus.Address!; break;
        }
        if (AgentSettings.OnKubernetes(config))
            return config["Kubernetes:StreamDatabaseSecret"] is { Length: > 0 } secret
                ? new(environment, secrets, (secret, config["Kubernetes:StreamDatabaseKey"] is { Length: > 0 } key ? key : DatabaseKey))
                : null;
        if (Store.ConnectionString(config) is not { } database) return null;
        secrets[DatabaseKey] = database;
        return new(environment, secrets, null);
    }

    /// <summary>The replica <paramref name="replica"/> with stream scoring on.</summary>
    public JobSpec On(JobSpec replica) => replica with
    {
        Args = [.. replica.Args, "--stream"],
        Environment = Merged(replica.Environment, Environment),
        Secrets = Merged(replica.Secrets, Secrets),
    };

    private static Dictionary<string, string> Merged(IReadOnlyDictionary<string, string> first, IReadOnlyDictionary<string, string> second)
    {
        var merged = new Dictionary<string, string>(first);
        foreach (var (key, value) in second) merged[key] = value;
        return merged;
    }
}
