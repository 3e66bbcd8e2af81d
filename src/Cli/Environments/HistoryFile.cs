namespace EventMlOps.Cli.Environments;

/// <summary>Moves a history between control planes as an export file (placeholder until the export/import API lands).</summary>
public static class HistoryFile
{
    public static async Task<string> ExportAsync(ApiClient from, long until, string file, CancellationToken ct)
    {
        await from.DownloadAsync(ApiClient.Path("/api/history/export", ("until", until)), file, ct);
        var last = File.ReadLines(file).Last();
        using var doc = System.Text.Json.JsonDocument.Parse(last);
        return doc.RootElement.GetProperty("hash").GetString()!;
    }

    public static Task ImportAsync(ApiClient to, string file, CancellationToken ct) =>
        to.UploadAsync("/api/history/import", file, "application/x-ndjson", ct);
}
