using EventMlOps.Artifacts;
using EventMlOps.Contracts.Artifacts;

namespace EventMlOps.Cli;

/// <summary>Whether what the history names is still in the artifact store as recorded: read back through the store the agents
/// read and checked against the recorded sha256.</summary>
public static class StoredArtifacts
{
    /// <summary>A generated dataset is its spec (<c>generate://…</c>), kept in the history itself: nothing to fetch.</summary>
    public static bool IsGenerated(string uri) => uri.StartsWith("generate:", StringComparison.OrdinalIgnoreCase);

    /// <summary>What is wrong with the artifact ("is missing from the artifact store (sha256 …)", "was altered: …"), or null when
    /// its content is there with <paramref name="sha256"/> (or it is generated).</summary>
    public static async Task<string?> ProblemAsync(IArtifactStore store, string uri, string sha256, CancellationToken ct) =>
        (await LocalizeAsync(store, uri, sha256, ct)).Problem;

    /// <summary>The artifact's local path once read back and checked against <paramref name="sha256"/> — or, as
    /// <see cref="ProblemAsync"/> says it, what is wrong with it (neither for a generated dataset).</summary>
    public static async Task<(string? Path, string? Problem)> LocalizeAsync(IArtifactStore store, string uri, string sha256, CancellationToken ct)
    {
        if (IsGenerated(uri)) return (null, null);
        try
        {
            return (await store.LocalizeAsync(uri, sha256, ct), null);
        }
        catch (Exception e) when (e is FileNotFoundException or DirectoryNotFoundException)
        {
            return (null, $"is missing from the artifact store (sha256 {sha256})");
        }
        catch (ArtifactIntegrityException) { return (null, $"was altered: its content no longer has the recorded sha256 {sha256}"); }
        catch (DataAccessRefused e) { return (null, $"cannot be read: {e.Reason}"); }
        catch (NotSupportedException) { return (null, $"cannot be read from this store: configure the store that holds {DataUris.Echo(uri)}"); }
    }
}
