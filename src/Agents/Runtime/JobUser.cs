using System.Globalization;
using System.Runtime.InteropServices;

namespace EventMlOps.Agents.Runtime;

/// <summary>The unprivileged account local jobs run as when the agent runs as root (<c>Agents:JobUser</c>, default
/// <c>nobody</c>; empty or <c>root</c> keeps the agent's account): a trainer or a model server then cannot read what only
/// root may — the signing key (0600 in a 0700 folder), the token, the database. It owns the job's working folder and
/// nothing else.</summary>
public sealed record JobUser(string Name, uint Uid, uint Gid)
{
    /// <summary>The account for <paramref name="configured"/>, or null when the agent is not root or it is disabled.
    /// <paramref name="programs"/> are what jobs run: an account that cannot reach them (a folder on their path closed to
    /// others) would fail every job, so then jobs keep the agent's account and <paramref name="why"/> says why.</summary>
    public static JobUser? Resolve(string? configured, IEnumerable<string?> programs, out string? why)
    {
        why = null;
        if (OperatingSystem.IsWindows() || geteuid() != 0) return null;
        var name = configured ?? "nobody";
        if (name is "" or "root") return null;
        var entry = File.ReadLines("/etc/passwd").Select(l => l.Split(':')).FirstOrDefault(f => f.Length > 3 && f[0] == name);
        if (entry is null)
        {
            if (configured is not null) throw new InvalidOperationException($"Agents:JobUser: there is no account '{name}' on this machine");
            why = $"there is no account '{name}'";
            return null;
        }
        if (programs.OfType<string>().Where(p => p.Contains('/')).FirstOrDefault(p => !OthersMayRead(p)) is { } closed)
        {
            why = $"{name} cannot reach {closed} (a folder on its path is closed to others)";
            return null;
        }
        return new JobUser(name, uint.Parse(entry[2], CultureInfo.InvariantCulture), uint.Parse(entry[3], CultureInfo.InvariantCulture));
    }

    /// <summary>Gives the job its working folder (only that).</summary>
    public void Own(string folder)
    {
        if (chown(folder, Uid, Gid) != 0)
            throw new IOException($"could not give {folder} to {Name} (errno {Marshal.GetLastPInvokeError()})");
    }

    /// <summary>Whether every folder on the way to <paramref name="path"/> lets others through and the file lets them read.</summary>
    private static bool OthersMayRead(string path)
    {
        if (OperatingSystem.IsWindows()) return true;
        var full = Path.GetFullPath(path);
        if (!File.Exists(full) || !File.GetUnixFileMode(full).HasFlag(UnixFileMode.OtherRead)) return false;
        for (var dir = Path.GetDirectoryName(full); dir is not null; dir = Path.GetDirectoryName(dir))
            if (!File.GetUnixFileMode(dir).HasFlag(UnixFileMode.OtherExecute)) return false;
        return true;
    }

    [DllImport("libc", SetLastError = true)]
    private static extern uint geteuid();

    [DllImport("libc", SetLastError = true)]
    private static extern int chown(string path, uint owner, uint group);
}
