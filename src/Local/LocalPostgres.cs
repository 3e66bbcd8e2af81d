using System.Diagnostics;
using System.Globalization;
using EventMlOps.Hosting;
using Npgsql;

namespace EventMlOps.Local;

/// <summary>
/// A private PostgreSQL cluster run from the system's binaries. There is no Docker on the machines
/// this runs on, and `./emo up` and the tests need a real server that keeps its data between runs.
/// Layout: <c>DataRoot/data</c> (cluster), <c>DataRoot/postgres.log</c>, <c>DataRoot/port</c>, and the
/// Unix socket in <c>DataRoot</c> itself.
/// </summary>
public sealed class LocalPostgres
{
    // initdb, pg_ctl and postgres refuse to run as root, so as root every server tool runs as this user.
    private const string ServiceUser = "postgres";
    private static readonly bool IsRoot = Environment.UserName == "root";

    private LocalPostgres(string dataRoot, int port) => (DataRoot, Port) = (dataRoot, port);

    public string DataRoot { get; }
    public int Port { get; }

    /// <summary>Initializes the cluster if needed and starts it, or joins it when it already runs
    /// (then with the settings it was started with, whatever <paramref name="durable"/> says).</summary>
    /// <param name="durable">false turns off fsync and friends: throwaway test and bench clusters only.</param>
    public static async Task<LocalPostgres> StartAsync(string dataRoot, bool durable = true, CancellationToken ct = default)
    {
        var root = Root(dataRoot);
        Directory.CreateDirectory(root);
        // Test assemblies run in parallel processes and may all start the same cluster at once.
        using var gate = await LockAsync(root, ct);
        var bin = await EnsureBinariesAsync(Version(root), ct);
        await PrepareFolderAsync(root, ct);
        if (Version(root) is null)
            await RunAsync(Path.Combine(bin, "initdb"), root, ct, ["-D", Data(root), "-A", "trust", "-U", "postgres",
                "--encoding", "UTF8", "--locale", "C.UTF-8", .. durable ? Array.Empty<string>() : ["--no-sync"]]);
        var port = RunningPort(root) ?? await StartServerAsync(bin, root, durable, ct);
        await File.WriteAllTextAsync(Path.Combine(root, "port"), port.ToString(CultureInfo.InvariantCulture), ct);
        var pg = new LocalPostgres(root, port);
        await pg.WaitForConnectionsAsync(ct);
        return pg;
    }

    public static async Task StopAsync(string dataRoot)
    {
        var root = Root(dataRoot);
        if (!Directory.Exists(root) || RunningPort(root) is null) return;
        using var gate = await LockAsync(root, CancellationToken.None);
        if (RunningPort(root) is null) return;
        var bin = await EnsureBinariesAsync(Version(root), CancellationToken.None);
        await RunAsync(Path.Combine(bin, "pg_ctl"), root, CancellationToken.None, "-D", Data(root), "-m", "fast", "-w", "-t", "60", "stop");
        // Pooled connections to the stopped server are dead; without this a restart hands them out (57P01).
        NpgsqlConnection.ClearAllPools();
    }

    public static bool IsRunning(string dataRoot) => RunningPort(Root(dataRoot)) is not null;

    public string ConnectionString(string database) => new NpgsqlConnectionStringBuilder
    {
        Host = "127.0.0.1", Port = Port, Username = "postgres", Database = database,
        // max_connections is 200 and several hosts (Marten, Wolverine, tests in parallel) share it.
        MaxPoolSize = 40, ConnectionIdleLifetime = 60, Timeout = 15, CommandTimeout = 60,
        // Marten's append and snapshot statements repeat on every command: prepared once per connection they skip
        // parse and plan (measured +50-60 % commands/s in bench/ControlPlane.Bench).
        MaxAutoPrepare = 200, AutoPrepareMinUsages = 2,
    }.ConnectionString;

    public async Task EnsureDatabaseAsync(string database, CancellationToken ct = default)
    {
        await using var conn = await OpenAdminAsync(ct);
        await using var exists = new NpgsqlCommand("select 1 from pg_database where datname = $1", conn)
        { Parameters = { new() { Value = database } } };
        if (await exists.ExecuteScalarAsync(ct) is not null) return;
        try { await ExecuteAsync(conn, $"create database {Quote(database)}", ct); }
        // Another process created it between the check and the create.
        catch (PostgresException e) when (e.SqlState is PostgresErrorCodes.DuplicateDatabase or PostgresErrorCodes.UniqueViolation) { }
    }

    public async Task DropDatabaseAsync(string database, CancellationToken ct = default)
    {
        // Our own idle pooled connections would otherwise be killed under us by FORCE.
        await using (var pooled = new NpgsqlConnection(ConnectionString(database))) NpgsqlConnection.ClearPool(pooled);
        await using var conn = await OpenAdminAsync(ct);
        await ExecuteAsync(conn, $"drop database if exists {Quote(database)} with (force)", ct);
    }

    private static string Root(string dataRoot) => Path.GetFullPath(dataRoot);
    private static string Data(string root) => Path.Combine(root, "data");
    private static string Log(string root) => Path.Combine(root, "postgres.log");
    private static string? Version(string root) =>
        File.Exists(Path.Combine(Data(root), "PG_VERSION")) ? File.ReadAllText(Path.Combine(Data(root), "PG_VERSION")).Trim() : null;

    private static async Task<int> StartServerAsync(string bin, string root, bool durable, CancellationToken ct)
    {
        if (root.Contains('\'')) throw new ArgumentException($"PostgreSQL data root must not contain a quote: {root}");
        // A Unix socket path is limited to 107 bytes; beyond that go TCP-only rather than fail.
        var socketDir = root.Length + 20 < 107 ? root : "";
        var previous = int.TryParse(File.Exists(Path.Combine(root, "port")) ? File.ReadAllText(Path.Combine(root, "port")) : "", out var p) ? p : 0;
        for (var attempt = 1; ; attempt++)
        {
            // Keep the previous port when free so connection strings stay stable across restarts.
            var port = LoopbackPort.Choose(previous);
            var options = $"-c listen_addresses=127.0.0.1 -c port={port} -c unix_socket_directories='{socketDir}' -c max_connections=200"
                + (durable ? "" : " -c fsync=off -c synchronous_commit=off -c full_page_writes=off");
            var (code, output) = await TryRunAsync(Path.Combine(bin, "pg_ctl"), root, ct,
                "-D", Data(root), "-l", Log(root), "-w", "-t", "60", "-o", options, "start");
            if (code == 0) return port;
            // Transient causes: the free port was taken before postgres bound it, or a killed
            // postmaster is still an unreaped zombie holding postmaster.pid.
            if (attempt < 3) { await Task.Delay(1000, ct); continue; }
            throw Failure($"pg_ctl start (port {port}) exited with {code}: {output}", root);
        }
    }

    /// <summary>The port of a live postmaster for this cluster, read from postmaster.pid (line 1 pid, line 4 port).</summary>
    private static int? RunningPort(string root)
    {
        try
        {
            var lines = File.ReadAllLines(Path.Combine(Data(root), "postmaster.pid"));
            var pid = int.Parse(lines[0], CultureInfo.InvariantCulture);
            using var process = Process.GetProcessById(pid);
            // A stale pid file after a crash or reboot may name a pid now used by something else, and
            // a killed postmaster lingers as a zombie until reaped (state Z in /proc/pid/stat).
            var stat = $"/proc/{pid}/stat";
            var zombie = File.Exists(stat) && File.ReadAllText(stat).Split(')')[^1].TrimStart().StartsWith('Z');
            return process.ProcessName == "postgres" && !zombie ? int.Parse(lines[3], CultureInfo.InvariantCulture) : null;
        }
        catch (Exception e) when (e is IOException or ArgumentException or FormatException or IndexOutOfRangeException or InvalidOperationException or UnauthorizedAccessException)
        {
            return null;
        }
    }

    private async Task WaitForConnectionsAsync(CancellationToken ct)
    {
        // pg_ctl -w waits for "ready" in postmaster.pid; a real query proves TCP and auth work too.
        for (var deadline = DateTime.UtcNow.AddSeconds(30); ; await Task.Delay(100, ct))
        {
            try { await using var conn = await OpenAdminAsync(ct); await ExecuteAsync(conn, "select 1", ct); return; }
            catch (NpgsqlException) when (DateTime.UtcNow < deadline) { }
            catch (NpgsqlException e) { throw Failure($"PostgreSQL on port {Port} does not accept connections: {e.Message}", DataRoot); }
        }
    }

    private async Task<NpgsqlConnection> OpenAdminAsync(CancellationToken ct)
    {
        var conn = new NpgsqlConnection(new NpgsqlConnectionStringBuilder(ConnectionString("postgres")) { Pooling = false }.ConnectionString);
        try { await conn.OpenAsync(ct); return conn; }
        catch { await conn.DisposeAsync(); throw; }
    }

    private static async Task ExecuteAsync(NpgsqlConnection conn, string sql, CancellationToken ct)
    {
        await using var command = new NpgsqlCommand(sql, conn);
        await command.ExecuteNonQueryAsync(ct);
    }

    private static string Quote(string identifier) => "\"" + identifier.Replace("\"", "\"\"") + "\"";

    private static async Task<string> EnsureBinariesAsync(string? version, CancellationToken ct)
    {
        if (FindBin(version) is { } found) return found;
        if (!IsRoot) throw new InvalidOperationException("PostgreSQL server binaries are missing (/usr/lib/postgresql/*/bin/initdb); install the 'postgresql' package.");
        string last = "";
        for (var attempt = 1; attempt <= 20 && FindBin(version) is null; attempt++)
        {
            var (code, output) = await TryRunAsync("apt-get", null, ct, "install", "-y", "--no-install-recommends", "postgresql");
            last = output;
            if (code == 0) break;
            // Fresh machines may lack package lists; another apt/dpkg may briefly hold the lock.
            if (output.Contains("Unable to locate package", StringComparison.Ordinal)) await TryRunAsync("apt-get", null, ct, "update");
            else if (!output.Contains("lock", StringComparison.OrdinalIgnoreCase)) break;
            else await Task.Delay(3000, ct);
        }
        return FindBin(version) ?? throw new InvalidOperationException($"Installing PostgreSQL with 'apt-get install -y --no-install-recommends postgresql' failed: {Tail(last.Split('\n'))}");
    }

    private static string? FindBin(string? version) =>
        (Directory.Exists("/usr/lib/postgresql") ? Directory.GetDirectories("/usr/lib/postgresql") : [])
            .Where(d => File.Exists(Path.Combine(d, "bin", "initdb")) && (version is null || Path.GetFileName(d) == version))
            .OrderByDescending(d => double.TryParse(Path.GetFileName(d), CultureInfo.InvariantCulture, out var v) ? v : 0)
            .Select(d => Path.Combine(d, "bin")).FirstOrDefault();

    private static async Task PrepareFolderAsync(string root, CancellationToken ct)
    {
        if (!IsRoot || OperatingSystem.IsWindows()) return;
        // The postgres user must traverse every parent (e.g. /root is 0700) and own the root folder.
        for (var dir = Directory.GetParent(root); dir is not null; dir = dir.Parent)
            if (!File.GetUnixFileMode(dir.FullName).HasFlag(UnixFileMode.OtherExecute))
                File.SetUnixFileMode(dir.FullName, File.GetUnixFileMode(dir.FullName) | UnixFileMode.OtherExecute);
        await RunAsync("chown", null, ct, $"{ServiceUser}:", root);
    }

    private static async Task<FileStream> LockAsync(string root, CancellationToken ct)
    {
        // FileShare.None takes an exclusive flock on Unix, which also excludes other processes.
        for (var deadline = DateTime.UtcNow.AddMinutes(3); ; await Task.Delay(50, ct))
        {
            try { return new FileStream(Path.Combine(root, ".lock"), FileMode.OpenOrCreate, FileAccess.ReadWrite, FileShare.None); }
            catch (IOException) when (DateTime.UtcNow < deadline) { }
        }
    }

    private static async Task RunAsync(string file, string? root, CancellationToken ct, params string[] args)
    {
        var (code, output) = await TryRunAsync(file, root, ct, args);
        if (code != 0) throw Failure($"'{file} {string.Join(' ', args)}' exited with {code}: {output}", root);
    }

    /// <summary>Runs a tool (as the postgres user when it is a server tool and we are root) and captures its output.</summary>
    private static async Task<(int Code, string Output)> TryRunAsync(string file, string? root, CancellationToken ct, params string[] args)
    {
        var asService = IsRoot && file.StartsWith("/usr/lib/postgresql/", StringComparison.Ordinal);
        var start = new ProcessStartInfo(asService ? "runuser" : file)
        {
            RedirectStandardOutput = true, RedirectStandardError = true, RedirectStandardInput = true, UseShellExecute = false,
            // The caller's cwd (e.g. /root) may be unreadable for postgres.
            WorkingDirectory = root ?? "/",
        };
        if (asService) foreach (var a in new[] { "-u", ServiceUser, "--", file }) start.ArgumentList.Add(a);
        foreach (var a in args) start.ArgumentList.Add(a);
        start.Environment["DEBIAN_FRONTEND"] = "noninteractive";
        using var process = Process.Start(start) ?? throw new InvalidOperationException($"Could not start {file}");
        process.StandardInput.Close();
        var stdout = process.StandardOutput.ReadToEndAsync(ct);
        var stderr = process.StandardError.ReadToEndAsync(ct);
        try { await process.WaitForExitAsync(ct); }
        catch (OperationCanceledException) { process.Kill(entireProcessTree: true); throw; }
        return (process.ExitCode, (await stdout + await stderr).Trim());
    }

    private static InvalidOperationException Failure(string what, string? root) => new(root is null ? what
        : $"PostgreSQL in {root}: {what}{Environment.NewLine}See {Log(root)}; its last lines:{Environment.NewLine}{Tail(File.Exists(Log(root)) ? File.ReadLines(Log(root)) : ["(no log yet)"])}");

    private static string Tail(IEnumerable<string> lines) => string.Join(Environment.NewLine, lines.TakeLast(15));
}
