using Microsoft.Extensions.Configuration;

namespace EventMlOps.Hosting;

/// <summary>Settings kept as files, one per setting: <c>EMO_CONFIG_FILES</c> names a folder whose files are read as
/// configuration keys (file <c>ConnectionStrings__Marten</c> → <c>ConnectionStrings:Marten</c>) over the environment — how a
/// Vault agent or a mounted Secret hands a host its connection strings and credentials without putting them in the pod
/// spec or the environment of anything it starts.</summary>
public static class ConfigFiles
{
    public const string Variable = "EMO_CONFIG_FILES";

    /// <summary>Adds the folder when <c>EMO_CONFIG_FILES</c> (environment or command line) names one; a named folder that is
    /// missing is an error (a secret that did not arrive must not leave a host running on defaults).</summary>
    public static ConfigurationManager AddConfigFiles(this ConfigurationManager config)
    {
        if (config[Variable] is not { Length: > 0 } folder) return config;
        if (!Directory.Exists(folder))
            throw new InvalidOperationException($"{Variable} names {folder}, which does not exist (were the secrets rendered?)");
        config.AddKeyPerFile(Path.GetFullPath(folder), optional: false, reloadOnChange: false);
        return config;
    }
}
