namespace EventMlOps.Contracts.Artifacts;

/// <summary>A content-addressed artifact: where it is and the sha256 whoever loads it must verify.</summary>
public sealed record ArtifactRef(string Uri, string Sha256, long Size);
