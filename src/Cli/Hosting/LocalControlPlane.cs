using System.Diagnostics;
using System.Globalization;
using System.Runtime.InteropServices;
using Microsoft.Extensions.Configuration;

namespace EventMlOps.Cli.Hosting;

/// <summary>The files through which `emo up`, `down`, `status` and every other verb find the local
/// control plane: <c>$EMO_HOME/controlplane.{pid,url,log}</c>, the admin <c>token</c>, and the private
/// PostgreSQL cluster under <c>pg/</c>.</summary>
public sealed class LocalControlPlane(string home)
{
    public string Home { get; } = home;
    public string PidFile => Path.Combine(Home, "controlplane.pid");
    public string UrlFile => Path.Combine(Home, "controlplane.url");
    public string LogFile => Path.Combine(Home, "controlplane.log");
    public string TokenFile => Path.Combine(Home, "token");
    public string PostgresRoot => Path.Combine(Home, "pg");

    /// <summary>This home's own configuration keys (<c>settings.json</c>, a flat JSON object), read over the environment by
    /// every verb and given to both hosts of `emo up`: how a rebuilt environment keeps reading the artifact store of the
    /// environment it was rebuilt from.</summary>
    public string SettingsFile => Path.Combine(Home, "settings.json");

    public IReadOnlyDictionary<string, string> Settings() => File.Exists(SettingsFile)
        ? (System.Text.Json.Nodes.JsonNode.Parse(File.ReadAllText(SettingsFile)) as System.Text.Json.Nodes.JsonObject
           ?? throw new CliError($"{SettingsFile} is not a JSON object of settings"))
          .ToDictionary(p => p.Key, p => p.Value?.GetValue<string>() ?? "")
        : new Dictionary<string, string>();

    public void WriteSettings(IReadOnlyDictionary<string, string> settings)
    {
        CreateHome(Home);
        File.WriteAllText(SettingsFile, System.Text.Json.JsonSerializer.Serialize(settings, new System.Text.Json.JsonSerializerOptions { WriteIndented = true }));
    }

    public string? RecordedUrl() => ReadTrimmed(UrlFile);

    public string? RecordedToken() => ReadTrimmed(TokenFile);

    public int? RecordedPid() => int.TryParse(ReadTrimmed(PidFile), NumberStyles.None, CultureInfo.InvariantCulture, out var pid) ? pid : null;

    /// <summary>The pid of the control plane this home started, when that process still runs. A pid file
    /// left by a crash may name a pid since reused by something else: the command line must be ours.</summary>
    public int? RunningPid() => RecordedPid() is { } pid && IsControlPlane(pid) ? pid : null;

    public void Record(int pid, string url)
    {
        Directory.CreateDirectory(Home);
        File.WriteAllText(PidFile, pid.ToString(CultureInfo.InvariantCulture));
        File.WriteAllText(UrlFile, url);
    }

    /// <summary>Forgets the running control plane; with <paramref name="ownedBy"/>, only if the files still name that pid
    /// (a newer `up` may have replaced them).</summary>
    public void Forget(int? ownedBy = null)
    {
        if (ownedBy is { } pid && RecordedPid() != pid) return;
        File.Delete(PidFile);
        File.Delete(UrlFile);
    }

    public void WriteToken(string token)
    {
        CreateHome(Home);
        ControlPlane.Auth.Tokens.WritePrivate(TokenFile, token);
    }

    /// <summary>The home, 0711: others may reach the folders jobs need (their own, the artifacts) but not list it; what
    /// is secret inside is closed on its own (keys/ 0700, token 0600, pg/ 0700).</summary>
    public static void CreateHome(string home)
    {
        Directory.CreateDirectory(home);
        if (!OperatingSystem.IsWindows())
            File.SetUnixFileMode(home, UnixFileMode.UserRead | UnixFileMode.UserWrite | UnixFileMode.UserExecute | UnixFileMode.GroupExecute | UnixFileMode.OtherExecute);
    }

    public string LogTail(int lines = 30) =>
        File.Exists(LogFile) ? string.Join(Environment.NewLine, File.ReadLines(LogFile).TakeLast(lines)) : "(no log)";

    public static bool IsAlive(int pid)
    {
        try
        {
            using var p = Process.GetProcessById(pid);
            return !p.HasExited && !IsZombie(pid);
        }
        catch (Exception e) when (e is ArgumentException or InvalidOperationException)
        {
            return false;
        }
    }

    /// <summary>SIGTERM: the host's console lifetime stops Kestrel, Wolverine and Marten in order.</summary>
    public static void Terminate(int pid)
    {
        if (kill(pid, Sigterm) != 0 && IsAlive(pid))
            throw new CliError($"could not signal process {pid} (errno {Marshal.GetLastPInvokeError()})");
    }

    public static void Kill(int pid)
    {
        try { using var p = Process.GetProcessById(pid); p.Kill(entireProcessTree: true); }
        catch (Exception e) when (e is ArgumentException or InvalidOperationException) { }
    }

    private static bool IsControlPlane(int pid)
    {
        if (!IsAlive(pid)) return false;
        var cmdline = $"/proc/{pid}/cmdline";
        if (!File.Exists(cmdline)) return true; // no procfs: trust the pid file
        var args = File.ReadAllText(cmdline).Split('\0');
        return args.Any(a => a.EndsWith("emo.dll", StringComparison.Ordinal) || Path.GetFileName(a) == "emo") && args.Contains("--foreground");
    }

    private static bool IsZombie(int pid)
    {
        var stat = $"/proc/{pid}/stat";
        try { return File.Exists(stat) && File.ReadAllText(stat).Split(')')[^1].TrimStart().StartsWith('Z'); }
        catch (IOException) { return false; }
    }

    private static string? ReadTrimmed(string file) =>
        File.Exists(file) && File.ReadAllText(file).Trim() is { Length: > 0 } text ? text : null;

    private const int Sigterm = 15;

    [DllImport("libc", SetLastError = true)]
    private static extern int kill(int pid, int sig);
}
