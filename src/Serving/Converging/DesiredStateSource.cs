using System.Runtime.CompilerServices;
using System.Text.Json;
using System.Text.Json.Serialization;
using EventMlOps.Contracts;
using EventMlOps.Contracts.Endpoints;

namespace EventMlOps.Serving.Converging;

/// <summary>Where a serving process learns what to serve, and tells what it serves.</summary>
public interface IDesiredStateSource
{
    /// <summary>Each new desired state, the current one first; ends only with <paramref name="ct"/>.</summary>
    IAsyncEnumerable<ApplyEndpoint> WatchAsync(CancellationToken ct);

    /// <summary>Reports what was loaded for a revision; a failure is logged, never thrown.</summary>
    Task ReportAsync(EndpointStatusReport observed, CancellationToken ct);

    /// <summary>Reports a fact the replica observed (an anomaly alarm of its stream): true once it was taken (or refused for
    /// good, logged), false when it should be sent again later.</summary>
    Task<bool> ReportFactAsync(IReplicaFact fact, CancellationToken ct);
}

public static class DesiredState
{
    /// <summary>As the control plane writes it: enums (a drift policy's methods) by name.</summary>
    public static readonly JsonSerializerOptions Json = new(JsonSerializerDefaults.Web) { Converters = { new JsonStringEnumConverter() } };

    /// <summary>Parses an <see cref="ApplyEndpoint"/>, refusing (with a <see cref="JsonException"/> saying why) what
    /// the serializer lets through: missing names, uris, hashes or versions, negative weights.</summary>
    public static ApplyEndpoint Parse(string json)
    {
        var desired = JsonSerializer.Deserialize<ApplyEndpoint>(json, Json);
        if (desired is not { Endpoint: not null, Versions: not null })
            throw new JsonException("a desired state needs endpoint, revision and versions");
        foreach (var v in desired.Versions)
            if (v is not { ModelName: not null, ArtifactUri: not null, ArtifactSha256: not null, Weight: >= 0 })
                throw new JsonException("each version needs modelName, version, artifactUri, artifactSha256 and a weight >= 0");
        return desired;
    }
}

/// <summary>A local JSON file in the shape of <see cref="ApplyEndpoint"/> (standalone use), read again whenever its
/// content changes. A file that does not parse is logged and skipped: what serves keeps serving.</summary>
public sealed class FileDesiredState(string path, TimeSpan pollInterval, ILogger<FileDesiredState> log) : IDesiredStateSource
{
    public async IAsyncEnumerable<ApplyEndpoint> WatchAsync([EnumeratorCancellation] CancellationToken ct)
    {
        string? last = null;
        using var timer = new PeriodicTimer(pollInterval);
        do
        {
            var text = Read();
            if (text is null || text == last) continue;
            last = text;
            if (Parse(text) is { } desired) yield return desired;
        } while (await timer.WaitForNextTickAsync(ct));
    }

    public Task ReportAsync(EndpointStatusReport observed, CancellationToken ct)
    {
        log.LogInformation("Observed {Endpoint} revision {Revision}: ready {Ready}, loaded {Loaded}{Errors}", observed.Endpoint, observed.Revision,
            observed.Ready, string.Join(", ", observed.Loaded?.Select(l => $"v{l.Version} ({l.Weight}%)") ?? []), observed.Message is null ? "" : $"; {observed.Message}");
        return Task.CompletedTask;
    }

    public Task<bool> ReportFactAsync(IReplicaFact fact, CancellationToken ct)
    {
        log.LogWarning("{Fact} on {Endpoint} (standalone: no control plane to report it to)", fact, fact.Endpoint);
        return Task.FromResult(true);
    }

    private string? Read()
    {
        try
        {
            return File.ReadAllText(path);
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException)
        {
            log.LogWarning("Cannot read the desired state {Path}: {Reason}", path, e.Message);
            return null;
        }
    }

    private ApplyEndpoint? Parse(string text)
    {
        try
        {
            return DesiredState.Parse(text);
        }
        catch (JsonException e)
        {
            log.LogError("The desired state {Path} is not a valid desired state: {Reason}", path, e.Message);
            return null;
        }
    }
}
