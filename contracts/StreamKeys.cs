namespace EventMlOps.Contracts;

/// <summary>Deterministic stream keys: one stream per dataset, run, model version, model policy, endpoint and drift alarm's
/// retraining.</summary>
public static class StreamKeys
{
    public static string Dataset(Guid id) => $"dataset:{id:N}";
    public static string Run(Guid id) => $"run:{id:N}";
    public static string ModelVersion(string model, int version) => $"model:{model}@{version}";
    public static string Endpoint(string name) => $"endpoint:{name}";
    public static string ModelPolicy(string model) => $"model-policy:{model}";
    public static string Retraining(Guid alarmId) => $"retraining:{alarmId:N}";
}
