using Microsoft.Extensions.Configuration;

namespace EventMlOps.Hosting;

/// <summary>The one resolution of <c>EMO_HOME</c> (configuration, else the environment, else <c>./.emo</c>).</summary>
public static class EmoHome
{
    public static string Resolve(IConfiguration? configuration = null) =>
        Path.GetFullPath(configuration?["EMO_HOME"] ?? Environment.GetEnvironmentVariable("EMO_HOME") ?? ".emo");

    /// <summary>Creates a folder only its owner may enter (0700), tightening an existing one.</summary>
    public static void CreatePrivateFolder(string path)
    {
        if (OperatingSystem.IsWindows())
        {
            Directory.CreateDirectory(path);
            return;
        }
        Directory.CreateDirectory(path, UnixFileMode.UserRead | UnixFileMode.UserWrite | UnixFileMode.UserExecute);
        File.SetUnixFileMode(path, UnixFileMode.UserRead | UnixFileMode.UserWrite | UnixFileMode.UserExecute);
    }
}
