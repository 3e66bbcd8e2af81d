namespace EventMlOps.ControlPlane.Dashboard;

/// <summary>The dashboard's addresses (names are escaped even where the API already restricts them).</summary>
public static class Links
{
    public static string Endpoint(string name) => $"/endpoints/{Uri.EscapeDataString(name)}";

    public static string Model(string name, int? version = null) => $"/models/{Uri.EscapeDataString(name)}" + (version is { } v ? $"#v{v}" : "");

    public static string Run(Guid id) => $"/runs/{id:N}";

    public static string EndpointLineage(string name) => $"/lineage/endpoints/{Uri.EscapeDataString(name)}";

    public static string VersionLineage(string model, int version) => $"/lineage/models/{Uri.EscapeDataString(model)}/{version}";

    public static string Impact(string sha256) => $"/impact?dataset={Uri.EscapeDataString(sha256)}";

    public static string Audit(string key, string value) => $"/audit?{key}={Uri.EscapeDataString(value)}";

    /// <summary>The page of what a stream is about, when the dashboard has one.</summary>
    public static string? Stream(string stream) => stream.Split(':', 2) switch
    {
        ["endpoint", var name] => Endpoint(name),
        ["alarms", var name] => Endpoint(name),
        ["run", var id] when Guid.TryParse(id, out var run) => Run(run),
        ["model", var key] when key.LastIndexOf('@') is > 0 and var at && int.TryParse(key[(at + 1)..], out var v) => Model(key[..at], v),
        _ => null,
    };
}
