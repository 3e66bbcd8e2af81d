using EventMlOps.Contracts.Training;

namespace EventMlOps.Cli.Training;

/// <summary>One metric of a run beside its reproduction's. <paramref name="Relative"/> is the absolute difference over the
/// larger magnitude of the two (0 when both are 0), so it stays finite when one is 0. A wall-clock time is shown but not
/// <paramref name="Judged"/>; a judged metric only one run reported is not within any tolerance.</summary>
public sealed record MetricDifference(string Metric, double? Original, double? Reproduction, double? Absolute, double? Relative, bool Judged, bool Within);

public static class MetricComparison
{
    /// <summary>On a CPU the trainers are bit-exact (<c>DeterminismTests</c>): the default tolerance only absorbs rounding.</summary>
    public const double CpuTolerance = 1e-6;

    /// <summary>On a GPU bit-exactness is not expected (CUDA kernels add in varying order, e.g. the embeddings' gradients), so
    /// metrics such as hr@10 may move by a user or two of the held-out set.</summary>
    public const double GpuTolerance = 1e-2;

    /// <summary>Every metric either run reported, by name, the wall-clock times last.</summary>
    public static IReadOnlyList<MetricDifference> Compare(IReadOnlyDictionary<string, double> original, IReadOnlyDictionary<string, double> reproduction,
        double tolerance) =>
        [.. original.Keys.Union(reproduction.Keys).OrderBy(TrainerProtocol.IsWallClock).ThenBy(k => k, StringComparer.Ordinal).Select(name =>
        {
            var judged = !TrainerProtocol.IsWallClock(name);
            if (!original.TryGetValue(name, out var a) || !reproduction.TryGetValue(name, out var b))
                return new MetricDifference(name, original.TryGetValue(name, out var o) ? o : null, reproduction.TryGetValue(name, out var r) ? r : null,
                    null, null, judged, !judged);
            var absolute = Math.Abs(a - b);
            var relative = absolute == 0 ? 0 : absolute / Math.Max(Math.Abs(a), Math.Abs(b));
            return new MetricDifference(name, a, b, absolute, relative, judged, !judged || relative <= tolerance);
        })];
}
