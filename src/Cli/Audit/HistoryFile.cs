using System.Text.Json;
using EventMlOps.Contracts.Views;

namespace EventMlOps.Cli.Audit;

/// <summary>An exported history file as its header and last line describe it: <paramref name="Events"/> events up to
/// <paramref name="UntilSequence"/>, the last with chain hash <paramref name="Hash"/> (64 zeros when there is none).</summary>
public sealed record HistoryFileHead(long Events, long UntilSequence, string Hash)
{
    /// <summary><c>&lt;sequence&gt;:&lt;hash&gt;</c>: what <c>--append-after</c> names.</summary>
    public override string ToString() => $"{UntilSequence}:{Hash}";
}

/// <summary>Moves a history between control planes as a history file (<c>GET /api/history/export</c>,
/// <c>POST /api/history/import</c>; the format is the control plane's <c>HistoryFormat</c>).</summary>
public static class HistoryFile
{
    public static async Task<HistoryFileHead> ExportAsync(ApiClient from, string? until, string file, CancellationToken ct)
    {
        await from.DownloadAsync(ApiClient.Path("/api/history/export", ("until", until)), file, ct);
        // The server writes its header first; a connection lost later leaves a file shorter than the header promises.
        long lines = 0, events = 0, untilSequence = 0;
        var hash = new string('0', 64);
        foreach (var line in File.ReadLines(file))
        {
            using var json = JsonDocument.Parse(line);
            if (lines++ == 0)
            {
                events = json.RootElement.GetProperty("events").GetInt64();
                untilSequence = json.RootElement.GetProperty("until").GetInt64();
            }
            else
                hash = json.RootElement.GetProperty("hash").GetString()!;
        }
        if (lines - 1 != events)
            throw new CliError($"the export was cut short: {file} holds {Math.Max(0, lines - 1)} of {events} events; export again");
        return new HistoryFileHead(events, untilSequence, hash);
    }

    public static async Task<HistoryImported> ImportAsync(ApiClient to, string file, string? appendAfter, CancellationToken ct) =>
        ApiClient.Deserialize<HistoryImported>(await to.UploadAsync(ApiClient.Path("/api/history/import", ("appendAfter", appendAfter)), file,
            "application/x-ndjson", ct));
}
