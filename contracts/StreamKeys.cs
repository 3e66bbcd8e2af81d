namespace EventMlOps.Contracts;

/// <summary>Deterministic stream keys: one stream per dataset, run, model version, model policy, endpoint, endpoint's anomaly
/// alarms and drift alarm's retraining; one for the environment itself.</summary>
public static class StreamKeys
{
    public static string Dataset(Guid id) => $"dataset:{id:N}";
    public static string Run(Guid id) => $"run:{id:N}";
    public static string ModelVersion(string model, int version) => $"model:{model}@{version}";
    public static string Endpoint(string name) => $"endpoint:{name}";
    /// <summary>An endpoint's anomaly alarms, apart from its lifecycle: a stream scorer raises hundreds of episodes, which on
    /// <see cref="Endpoint"/> would conflict with every status report, drift window and rollout.</summary>
    public static string Alarms(string endpoint) => $"alarms:{endpoint}";
    public static string ModelPolicy(string model) => $"model-policy:{model}";
    public static string Retraining(Guid alarmId) => $"retraining:{alarmId:N}";
    /// <summary>This environment's own record: the histories it was rebuilt from.</summary>
    public const string Environment = "environment";
}
