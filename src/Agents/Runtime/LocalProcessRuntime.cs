using System.Collections.Concurrent;
using System.Diagnostics;
using System.Globalization;
using System.Text;
using System.Text.Json;

namespace EventMlOps.Agents.Runtime;

/// <summary>
/// Jobs as child processes of this machine. Each job runs in its own session (<c>setsid</c>), so cancelling signals
/// the whole tree, and outlives the agent that started it: everything needed to observe it again is in
/// <c>{Root}/{name}/</c> — <c>job.json</c> (spec without secrets, labels, pid, process start time), <c>exit_code</c>
/// (written by a small <c>sh</c> wrapper when the command exits), <c>cancelled</c> — beside the job's own working folder
/// <c>work/</c>. The command's stdout and stderr are appended to <c>{Root}/.logs/{name}.log</c> by the wrapper itself, so
/// no pipe to the agent can break when the agent goes away.
/// Linux only (it reads <c>/proc</c>).
/// </summary>
public sealed class LocalProcessRuntime : IWorkloadRuntime
{
    public const string JobFile = "job.json";
    public const string ExitCodeFile = "exit_code";
    public const string CancelledFile = "cancelled";

    /// <summary>How long a recorded job may stay without a process before it counts as never started.</summary>
    private static readonly TimeSpan StartTimeout = TimeSpan.FromMinutes(1);

    /// <summary>The wrapper: redirects everything to the log, lets a TERM reach the command and still records the
    /// command's exit status (a trapped signal is handled after the foreground command ends), atomically. With a job user
    /// (<c>EMO_JOB_USER=uid:gid</c>) the command runs as that account; the wrapper (root) keeps the log and exit code.</summary>
    private const string Wrapper = """
        dir=$1 log=$2; shift 2
        exec </dev/null >>"$log" 2>&1
        trap : TERM INT HUP
        if [ -n "${EMO_JOB_USER:-}" ]; then setpriv --reuid="${EMO_JOB_USER%:*}" --regid="${EMO_JOB_USER#*:}" --clear-groups -- "$@"; else "$@"; fi
        code=$?
        echo "$code" >"$dir/exit_code.tmp" && mv -f "$dir/exit_code.tmp" "$dir/exit_code"
        """;

    // The job gets a fresh environment: the basics of this host and what its spec says — never the agent's own
    // settings (connection strings, tokens, keys).
    private static readonly string[] InheritedVariables =
        ["PATH", "HOME", "USER", "LOGNAME", "SHELL", "LANG", "LANGUAGE", "TZ", "TMPDIR", "TEMP", "TMP", "LD_LIBRARY_PATH"];

    private static readonly string[] InheritedPrefixes = ["LC_", "DOTNET_", "CUDA_", "NVIDIA_"];

    private static readonly JsonSerializerOptions Json = new(JsonSerializerDefaults.Web) { WriteIndented = true };

    private readonly TimeSpan _cancelGrace;
    private readonly JobUser? _runAs;
    private readonly int _logTailLines;
    private readonly TimeProvider _time;
    private readonly SemaphoreSlim _submitting = new(1, 1);
    private readonly ConcurrentDictionary<int, Process> _children = new();

    /// <param name="runAs">The account jobs run as (<see cref="JobUser"/>); null: the agent's own.</param>
    public LocalProcessRuntime(string root, TimeSpan cancelGrace, int logTailLines = 20, TimeProvider? time = null, JobUser? runAs = null)
    {
        Root = Path.GetFullPath(root);
        _cancelGrace = cancelGrace;
        _runAs = runAs;
        _logTailLines = logTailLines;
        _time = time ?? TimeProvider.System;
    }

    public string Root { get; }

    /// <summary>The agents' runtime of an <c>EMO_HOME</c>: its jobs live in <c>agents/jobs</c>.</summary>
    public static LocalProcessRuntime ForHome(string emoHome, TimeSpan cancelGrace, int logTailLines = 20, JobUser? runAs = null) =>
        new(Path.Combine(emoHome, "agents", "jobs"), cancelGrace, logTailLines, runAs: runAs);

    public string Kind => "local";

    public string JobFolder(string name) => Path.Combine(Root, JobSpec.ValidName(name));

    /// <summary>The job's working folder (<c>work/</c>, its own): where its relative paths lead.</summary>
    public string WorkFolder(string name) => Path.Combine(JobFolder(name), "work");

    public string? LocalFolder(string name) => WorkFolder(name);

    /// <summary>The job's combined stdout/stderr, out of the job's reach; it outlives a deletion (a job of the same name
    /// restarted appends to it).</summary>
    public string LogFile(string name) => Path.Combine(Root, ".logs", JobSpec.ValidName(name) + ".log");

    public async Task<JobObservation> SubmitAsync(JobSpec spec, CancellationToken ct)
    {
        var dir = JobFolder(spec.Name);
        Directory.CreateDirectory(dir);
        await _submitting.WaitAsync(ct);
        try
        {
            // Creating job.json claims the name, across processes too: whoever finds it there starts nothing.
            FileStream claim;
            try { claim = new FileStream(Path.Combine(dir, JobFile), FileMode.CreateNew, FileAccess.Write, FileShare.None); }
            catch (IOException) when (File.Exists(Path.Combine(dir, JobFile))) { return await ObserveAsync(spec.Name, ct); }

            var job = new LocalJob(spec with { Secrets = new Dictionary<string, string>() }, [.. spec.Secrets.Keys], _time.GetUtcNow(), null, null, null);
            await using (claim)
                await JsonSerializer.SerializeAsync(claim, job, Json, ct);
            int pid;
            try
            {
                Directory.CreateDirectory(WorkFolder(spec.Name));
                Directory.CreateDirectory(Path.GetDirectoryName(LogFile(spec.Name))!);
                pid = Start(spec, dir);
            }
            catch
            {
                File.Delete(Path.Combine(dir, JobFile)); // nothing runs: the name is free again
                throw;
            }
            await LeadsItsSessionAsync(pid);
            // The process start time (from /proc) tells this process apart from a later one that reuses its pid.
            Write(dir, job with { Pid = pid, ProcessStartTime = ProcessTable.Read(pid)?.StartTime, StartedAt = _time.GetUtcNow() });
            return await ObserveAsync(spec.Name, ct);
        }
        finally
        {
            _submitting.Release();
        }
    }

    public Task<JobObservation> ObserveAsync(string name, CancellationToken ct) => Task.FromResult(Observe(name));

    public async Task CancelAsync(string name, CancellationToken ct)
    {
        var dir = JobFolder(name);
        if (Read(dir) is null && await RecordCancelledAsync(name, ct)) return;
        // (Submitted while this looked: its record is whole now, submissions hold the same lock.)
        if (Read(dir) is not { } job) return;
        if (!File.Exists(Path.Combine(dir, CancelledFile)))
            File.WriteAllText(Path.Combine(dir, CancelledFile), _time.GetUtcNow().ToString("O", CultureInfo.InvariantCulture));
        if (job.Pid is not { } session) return;
        // The leader was started by setsid, so its pid is the session id of the whole tree.
        if (!Signal(session, job.ProcessStartTime, ProcessTable.SigTerm)) return;
        if (await GoneAsync(session, job.ProcessStartTime, _cancelGrace, ct)) return;
        // Whatever is left (it ignored TERM, or was forked meanwhile) is killed, pass after pass until none is left.
        for (var deadline = DateTime.UtcNow.AddSeconds(5); Signal(session, job.ProcessStartTime, ProcessTable.SigKill) && DateTime.UtcNow < deadline;)
            await Task.Delay(20, ct);
    }

    /// <summary>Claims the name of a job not submitted yet, as cancelled and without a process: a submission finds it
    /// taken. False when it was submitted meanwhile.</summary>
    private async Task<bool> RecordCancelledAsync(string name, CancellationToken ct)
    {
        var dir = JobFolder(name);
        await _submitting.WaitAsync(ct);
        try
        {
            if (File.Exists(Path.Combine(dir, JobFile))) return false;
            Directory.CreateDirectory(dir);
            var now = _time.GetUtcNow();
            // The name first, then the mark: killed in between, it is a record that never started (failed after a minute),
            // never a free name carrying a cancel mark for whatever is submitted next.
            Write(dir, new LocalJob(new JobSpec(name, "", "", [], new Dictionary<string, string>(), new Dictionary<string, string>(),
                new JobResources(0, 0, 0), new Dictionary<string, string>()), [], now, null, null, null));
            File.WriteAllText(Path.Combine(dir, CancelledFile), now.ToString("O", CultureInfo.InvariantCulture));
            return true;
        }
        finally
        {
            _submitting.Release();
        }
    }

    public async Task DeleteAsync(string name, CancellationToken ct)
    {
        var dir = JobFolder(name);
        if (!Directory.Exists(dir)) return;
        await CancelAsync(name, ct);
        await _submitting.WaitAsync(ct);
        try
        {
            // Renamed first, so that a concurrent observer sees the job either whole or missing, never half removed.
            var gone = Path.Combine(Directory.CreateDirectory(Path.Combine(Root, ".deleted")).FullName, Guid.NewGuid().ToString("N"));
            Directory.Move(dir, gone);
            Directory.Delete(gone, recursive: true);
        }
        catch (DirectoryNotFoundException) { }
        finally
        {
            _submitting.Release();
        }
    }

    public async Task<LogChunk> ReadLogAsync(string name, long offset, int maxBytes, CancellationToken ct)
    {
        var path = LogFile(name);
        if (!File.Exists(path)) return new LogChunk([], 0);
        await using var file = new FileStream(path, FileMode.Open, FileAccess.Read, FileShare.ReadWrite | FileShare.Delete);
        if (file.Length < offset) offset = 0; // cut shorter or replaced: start over
        file.Seek(offset, SeekOrigin.Begin);
        var buffer = new byte[(int)Math.Min(maxBytes, file.Length - offset)];
        var read = await file.ReadAtLeastAsync(buffer, buffer.Length, throwOnEndOfStream: false, ct);
        return new LogChunk(read == buffer.Length ? buffer : buffer[..read], offset + read);
    }

    public async Task LabelAsync(string name, IReadOnlyDictionary<string, string> labels, CancellationToken ct)
    {
        var dir = JobFolder(name);
        await _submitting.WaitAsync(ct); // a submission rewrites job.json once its process started
        try
        {
            if (Read(dir) is not { } job) return;
            var merged = new Dictionary<string, string>(job.Spec.Labels);
            foreach (var (key, value) in labels) merged[key] = value;
            Write(dir, job with { Spec = job.Spec with { Labels = merged } });
        }
        finally
        {
            _submitting.Release();
        }
    }

    /// <summary>Signals the session, and its leader directly should it not lead a session (yet); false when nothing lives.</summary>
    private static bool Signal(int session, ulong? startTime, int signal)
    {
        var signalled = ProcessTable.SignalSession(session, signal) > 0;
        return ProcessTable.IsAlive(session, startTime) ? ProcessTable.Signal(session, signal) | signalled : signalled;
    }

    public Task<IReadOnlyList<JobObservation>> ListAsync(CancellationToken ct, IReadOnlyDictionary<string, string>? selector = null)
    {
        // Selected on job.json alone: observing reads the log's tail, which a supervisor checking every second should
        // not do for every finished training job.
        bool Selected(string dir) => selector is null
            || (Read(dir)?.Spec.Labels is { } labels && selector.All(s => labels.GetValueOrDefault(s.Key) == s.Value));
        IReadOnlyList<JobObservation> jobs = Directory.Exists(Root)
            ? Directory.GetDirectories(Root).Where(d => File.Exists(Path.Combine(d, JobFile)) && Selected(d))
                .Select(d => Observe(Path.GetFileName(d))).OrderBy(j => j.Name, StringComparer.Ordinal).ToList()
            : [];
        return Task.FromResult(jobs);
    }

    private JobObservation Observe(string name)
    {
        var dir = JobFolder(name);
        if (!Directory.Exists(dir)) return JobObservation.Missing(name);
        if (Read(dir) is not { } job)
            return File.Exists(Path.Combine(dir, JobFile)) ? new(name, JobPhase.Pending, Message: "being submitted") : JobObservation.Missing(name);

        var cancelled = File.Exists(Path.Combine(dir, CancelledFile));
        var observed = new JobObservation(name, JobPhase.Pending, StartedAt: job.StartedAt, Cancelled: cancelled,
            LogTail: Tail(LogFile(name), _logTailLines), Labels: job.Spec.Labels);
        if (Exited(dir, observed) is { } exited) return exited;
        if (job.Pid is null && cancelled)
            return observed with { Phase = JobPhase.Failed, Message = "cancelled before it started" };
        if (job.Pid is not { } pid)
            return _time.GetUtcNow() - job.SubmittedAt < StartTimeout
                ? observed with { Message = "being submitted" }
                : observed with { Phase = JobPhase.Failed, Message = "the job was recorded but its process never started" };
        if (ProcessTable.IsAlive(pid, job.ProcessStartTime))
            return observed with { Phase = JobPhase.Running };
        // The wrapper writes the exit code just before it ends: look again now that the process is gone.
        return Exited(dir, observed) ?? observed with
        {
            Phase = JobPhase.Failed,
            Message = cancelled ? "cancelled" : "the process is gone without an exit code (killed, or the machine restarted)",
        };
    }

    private static JobObservation? Exited(string dir, JobObservation observed)
    {
        var file = Path.Combine(dir, ExitCodeFile);
        if (!File.Exists(file) || !int.TryParse(File.ReadAllText(file).Trim(), NumberStyles.Integer, CultureInfo.InvariantCulture, out var code))
            return null;
        return observed with
        {
            Phase = code == 0 ? JobPhase.Succeeded : JobPhase.Failed,
            ExitCode = code,
            FinishedAt = new DateTimeOffset(File.GetLastWriteTimeUtc(file)),
            Message = observed.Cancelled ? "cancelled" : null,
        };
    }

    /// <summary>Starts the wrapper; returns its pid (the <see cref="Process"/> may be disposed as soon as a quick job exits).</summary>
    private int Start(JobSpec spec, string dir)
    {
        var work = WorkFolder(spec.Name);
        var start = new ProcessStartInfo("setsid") { UseShellExecute = false, WorkingDirectory = work };
        foreach (var arg in (string[])["sh", "-c", Wrapper, "emo-job", dir, LogFile(spec.Name), spec.Command, .. spec.Args])
            start.ArgumentList.Add(arg);
        start.Environment.Clear();
        foreach (var (key, value) in System.Environment.GetEnvironmentVariables().Cast<System.Collections.DictionaryEntry>()
                     .Select(e => ((string)e.Key, (string?)e.Value)))
            if (value is not null && (InheritedVariables.Contains(key) || InheritedPrefixes.Any(p => key.StartsWith(p, StringComparison.Ordinal))))
                start.Environment[key] = value;
        foreach (var (key, value) in ResourceEnvironment(spec.Resources)) start.Environment[key] = value;
        foreach (var (key, value) in spec.Environment) start.Environment[key] = value;
        foreach (var (key, value) in spec.Secrets) start.Environment[key] = value;
        if (_runAs is { } user)
        {
            user.Own(work);
            start.Environment["HOME"] = work; // the account's own home may not exist (nobody's does not)
            start.Environment["EMO_JOB_USER"] = $"{user.Uid}:{user.Gid}";
        }

        var process = Process.Start(start) ?? throw new InvalidOperationException($"could not start job {spec.Name}");
        var pid = process.Id;
        // Kept until it exits so that it is reaped (no zombie); the job itself never depends on this object.
        _children[pid] = process;
        process.Exited += (_, _) => { if (_children.TryRemove(pid, out var p)) p.Dispose(); };
        process.EnableRaisingEvents = true;
        return pid;
    }

    /// <summary>The local stand-in for resource limits: the GPUs a job may use (the first N, as a device plugin would
    /// assign them) and a CPU thread budget for OpenMP/libtorch. Memory is not limited locally.</summary>
    internal static IEnumerable<KeyValuePair<string, string>> ResourceEnvironment(JobResources resources)
    {
        if (resources.Cpus > 0)
            yield return new("OMP_NUM_THREADS", resources.Cpus.ToString(CultureInfo.InvariantCulture));
        if (resources.Gpus > 0)
            yield return new("CUDA_VISIBLE_DEVICES", string.Join(',', Enumerable.Range(0, resources.Gpus)));
    }

    /// <summary>Waits (briefly) until the child has become its own session leader: before that, it still sits in the
    /// agent's session and a cancel would not find it by its session id.</summary>
    private static async Task LeadsItsSessionAsync(int pid)
    {
        for (var deadline = DateTime.UtcNow.AddSeconds(10); DateTime.UtcNow < deadline; await Task.Delay(1))
            if (ProcessTable.Read(pid) is not { IsLive: true } entry || entry.Session == pid)
                return;
    }

    private static async Task<bool> GoneAsync(int session, ulong? startTime, TimeSpan wait, CancellationToken ct)
    {
        for (var deadline = DateTime.UtcNow + wait; ; await Task.Delay(50, ct))
        {
            if (ProcessTable.LiveInSession(session).Count == 0 && !ProcessTable.IsAlive(session, startTime)) return true;
            if (DateTime.UtcNow >= deadline) return false;
        }
    }

    internal static IReadOnlyList<string> Tail(string path, int lines)
    {
        if (lines <= 0 || !File.Exists(path)) return [];
        using var file = new FileStream(path, FileMode.Open, FileAccess.Read, FileShare.ReadWrite | FileShare.Delete);
        var take = (int)Math.Min(file.Length, 64 * 1024);
        file.Seek(-take, SeekOrigin.End);
        var buffer = new byte[take];
        file.ReadExactly(buffer);
        var all = Encoding.UTF8.GetString(buffer).Replace("\r", "", StringComparison.Ordinal).Split('\n');
        // The first line may be cut by the window; the last is empty after a final newline.
        var usable = all.Skip(take < file.Length ? 1 : 0).ToList();
        if (usable.Count > 0 && usable[^1].Length == 0) usable.RemoveAt(usable.Count - 1);
        return usable.TakeLast(lines).ToList();
    }

    private static LocalJob? Read(string dir)
    {
        try { return JsonSerializer.Deserialize<LocalJob>(File.ReadAllText(Path.Combine(dir, JobFile)), Json); }
        catch (Exception e) when (e is IOException or JsonException or UnauthorizedAccessException) { return null; }
    }

    private static void Write(string dir, LocalJob job)
    {
        var temp = Path.Combine(dir, $"{JobFile}.{Guid.NewGuid():N}.tmp");
        File.WriteAllText(temp, JsonSerializer.Serialize(job, Json));
        File.Move(temp, Path.Combine(dir, JobFile), overwrite: true);
    }

    /// <summary>What <c>job.json</c> holds. The spec is stored without secret values (their names only).</summary>
    private sealed record LocalJob(
        JobSpec Spec,
        IReadOnlyList<string> SecretNames,
        DateTimeOffset SubmittedAt,
        int? Pid,
        ulong? ProcessStartTime,
        DateTimeOffset? StartedAt);
}
