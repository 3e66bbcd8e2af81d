namespace EventMlOps.Contracts.Views;

/// <summary>A projection the control plane keeps (<c>GET /api/projections</c>): the name a rebuild takes, the documents it
/// writes, its lifecycle (<c>Inline</c>: written with the events; <c>Async</c>: by the daemon) and how many it holds now.</summary>
public sealed record ProjectionInfo(string Name, string Document, string Lifecycle, long Documents);

/// <summary><c>POST /api/projections/rebuilds</c>: rebuild the named projections (every one when none is named) and put the
/// rebuilt documents in place, or with <paramref name="Verify"/> only compare every rebuilt document with the live one.</summary>
public sealed record RebuildRequest(IReadOnlyList<string>? Names = null, bool Verify = false);

/// <summary>A rebuild or verification (<c>GET /api/projections/rebuilds/{id}</c>): <c>running</c>, <c>succeeded</c> or
/// <c>failed</c>; its progress per projection while it runs; then what it changed or found.</summary>
public sealed record ProjectionRun(
    Guid Id, string Mode, string State, IReadOnlyList<string> Projections, DateTimeOffset StartedAt, DateTimeOffset? FinishedAt,
    IReadOnlyList<ProjectionProgress> Progress, IReadOnlyList<DocumentsReplaced>? Replaced = null, Verification? Verification = null,
    string? Error = null)
{
    public const string Rebuild = "rebuild", Verify = "verify";
    public const string Running = "running", Succeeded = "succeeded", Failed = "failed";
}

/// <summary>How far the daemon's rebuild of one projection is: the global sequence it reached of the <paramref name="Ceiling"/>
/// (the store's high-water mark when it began), and the events per second since it began.</summary>
public sealed record ProjectionProgress(string Projection, long Position, long Ceiling, double EventsPerSecond, bool Done);

/// <summary>What a rebuild changed in one document table: the documents it rebuilt, how many of the live ones it inserted,
/// updated (their JSON differed) or deleted, and how many it left as they were because a command wrote them meanwhile.</summary>
public sealed record DocumentsReplaced(string Document, long Rebuilt, long Inserted, long Updated, long Deleted, long KeptLive);

/// <summary>What a verification found: live documents compared with their rebuild, those skipped because a command wrote them
/// meanwhile, and the differences (at most the first hundred are listed; <paramref name="DifferenceCount"/> counts all).</summary>
public sealed record Verification(long Compared, long WrittenMeanwhile, long DifferenceCount, IReadOnlyList<DocumentDifference> Differences);

/// <summary>One document whose live JSON is not its rebuild's: <c>changed</c> (with the paths of the fields that differ, such
/// as <c>metrics.loss</c>, never their values), <c>missing</c> (the rebuild has it, the store does not) or <c>unexpected</c> (the store has it, the
/// rebuild does not).</summary>
public sealed record DocumentDifference(string Document, string Id, string Kind, IReadOnlyList<string> Fields);
