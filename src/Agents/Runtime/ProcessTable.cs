using System.Globalization;
using System.Runtime.InteropServices;

namespace EventMlOps.Agents.Runtime;

/// <summary>Just enough of Linux's process table (<c>/proc/{pid}/stat</c>) and <c>kill(2)</c> to tell whether a job's
/// process still lives (and is the same process, not a reused pid) and to signal everything in its session.</summary>
internal static class ProcessTable
{
    public const int SigKill = 9;
    public const int SigTerm = 15;

    /// <param name="StartTime">Clock ticks after boot at which the process started: with the pid, a process's identity.</param>
    public readonly record struct Entry(int Pid, char State, int ProcessGroup, int Session, ulong StartTime)
    {
        /// <summary>Zombies (exited, not yet reaped) and dead entries hold no resources and run nothing.</summary>
        public bool IsLive => State is not ('Z' or 'X' or 'x');
    }

    public static Entry? Read(int pid)
    {
        try { return Parse(pid, File.ReadAllText($"/proc/{pid}/stat")); }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException) { return null; }
    }

    /// <summary>Whether <paramref name="pid"/> runs and, when <paramref name="startTime"/> is given, is that same process.</summary>
    public static bool IsAlive(int pid, ulong? startTime) =>
        Read(pid) is { IsLive: true } e && (startTime is null || e.StartTime == startTime);

    /// <summary>The live processes of a session: a job leader made with setsid, and every descendant that did not
    /// start a session of its own, whatever process group it moved to.</summary>
    public static IReadOnlyList<int> LiveInSession(int session) =>
        All().Where(e => e.Session == session && e.IsLive).Select(e => e.Pid).ToList();

    /// <summary>Signals the session's process group at once — the kernel delivers a group signal atomically with respect
    /// to fork, so a child being forked right now cannot slip through — and then each live member that moved to a
    /// group of its own. Never this process, init, or session 0/1. Returns how many processes were live.</summary>
    public static int SignalSession(int session, int signal)
    {
        if (session <= 1 || session == Environment.ProcessId) return 0;
        var members = All().Where(e => e.Session == session && e.IsLive).ToList();
        if (members.Any(e => e.ProcessGroup == session)) kill(-session, signal);
        foreach (var e in members.Where(e => e.ProcessGroup != session))
            Signal(e.Pid, signal);
        return members.Count;
    }

    public static bool Signal(int pid, int signal) => pid > 1 && pid != Environment.ProcessId && kill(pid, signal) == 0;

    private static IEnumerable<Entry> All()
    {
        foreach (var dir in Directory.EnumerateDirectories("/proc"))
            if (int.TryParse(Path.GetFileName(dir), NumberStyles.None, CultureInfo.InvariantCulture, out var pid) && Read(pid) is { } entry)
                yield return entry;
    }

    /// <summary><c>pid (comm) state ppid pgrp session … starttime(22nd)</c>; comm may hold spaces and parentheses,
    /// so fields are counted after its last ')'.</summary>
    internal static Entry? Parse(int pid, string stat)
    {
        var close = stat.LastIndexOf(')');
        if (close < 0) return null;
        var fields = stat[(close + 1)..].Split(' ', StringSplitOptions.RemoveEmptyEntries);
        if (fields.Length < 20) return null;
        var i = CultureInfo.InvariantCulture;
        return new Entry(pid, fields[0][0], int.Parse(fields[2], i), int.Parse(fields[3], i), ulong.Parse(fields[19], i));
    }

    [DllImport("libc", SetLastError = true)]
    private static extern int kill(int pid, int sig);
}
