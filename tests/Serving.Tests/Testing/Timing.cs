namespace EventMlOps.Serving.Tests.Testing;

/// <summary>Tests that assert on response times run alone: on two cores a parallel load test would skew them.</summary>
[CollectionDefinition(Name, DisableParallelization = true)]
public sealed class Timing
{
    public const string Name = "timing";
}
