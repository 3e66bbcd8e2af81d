using EventMlOps.Contracts.Endpoints;
using EventMlOps.ControlPlane.Endpoints;
using EventMlOps.ControlPlane.Registry;
using static EventMlOps.ControlPlane.Tests.Testing.Spec;

namespace EventMlOps.ControlPlane.Tests.Endpoints;

/// <summary>The givens the endpoint decision tests share: endpoint "rec" of model "ncf", v1 serving, a canary of v2
/// through 10 % and 50 % (60 s bake each, default analysis) started at <see cref="Now"/>.</summary>
public static class EndpointHistory
{
    public static readonly DateTimeOffset Now = new(2026, 11, 28, 12, 0, 0, TimeSpan.Zero);
    public static readonly Guid R1 = Guid.NewGuid(), R2 = Guid.NewGuid();
    public static readonly EndpointCreated Created = new("rec", "ncf", 1, 3, "olga", Now);
    public static readonly RolloutStrategy Canary = new(RolloutKind.Canary, [new CanaryStep(10, 60), new CanaryStep(50, 60)]);

    public static readonly object[] ServingV1 =
    [
        Created,
        new RolloutStarted("rec", R1, "ncf", 1, "file:///v1.onnx", new string('1', 64), RolloutKind.Immediate, [], null, "olga", Now),
        new RolloutPromoted("rec", R1, 1, "olga", Now),
    ];

    public static readonly object[] CanaryOfV2 = CanaryOfV2With(RolloutAnalysis.Default);

    public static object[] CanaryOfV2With(RolloutAnalysis analysis) =>
    [
        .. ServingV1,
        new RolloutStarted("rec", R2, "ncf", 2, "file:///v2.onnx", new string('2', 64), RolloutKind.Canary, Canary.Steps, 1, "olga", Now, analysis),
    ];

    /// <summary>A version approved by bob (four eyes), as a rollout needs it; <see cref="Unapproved"/> without.</summary>
    public static ModelVersion Version(int v, params object[] more) => Unapproved(v, [new ModelVersionApproved("ncf", v, "bob", null, Now), .. more]);

    public static ModelVersion Unapproved(int v, params object[] more) => Given<ModelVersion>([
        new ModelVersionRegistered("ncf", v, Guid.NewGuid(), new ModelArtifact($"file:///v{v}.onnx", new string((char)('0' + v), 64)), Guid.NewGuid(),
            new string('e', 64), new Dictionary<string, double>(), "alice", Now), .. more])!;

    /// <summary>The replica's report that it serves <paramref name="version"/> at <paramref name="revision"/>.</summary>
    public static EndpointStatusReport Serves(long revision, int version) =>
        new(Guid.NewGuid(), "rec", revision, true, null, [new LoadedVersion(version, new string((char)('0' + version), 64), 100)]);
}
