using EventMlOps.Training.Running;

namespace EventMlOps.Training.Tests.Running;

/// <summary>The baseline's distribution summary and the reference the drift tests compare served values with.</summary>
public class DistributionTests
{
    [Fact]
    public void Given_at_most_1000_values_When_summarised_Then_the_reference_is_all_of_them_sorted()
    {
        var distribution = Distribution.Of([3, 1, 2, 2]);

        distribution.Reference.ShouldBe([1, 2, 2, 3]);
        (distribution.Count, distribution.Categorical).ShouldBe((4, false));
    }

    [Fact]
    public void Given_more_than_1000_values_When_summarised_Then_the_reference_is_1000_evenly_spaced_quantiles_from_min_to_max()
    {
        // 0..1998 shuffled: level k/999 sits at position k/999 · 1998 = 2k of the sorted values, so quantile k is 2k exactly
        var values = Enumerable.Range(0, 1999).Select(v => (double)v).ToArray();
        new Random(7).Shuffle(values);

        var distribution = Distribution.Of(values);

        distribution.Reference.ShouldBe(Enumerable.Range(0, 1000).Select(k => 2.0 * k), 1e-9);
    }

    [Fact]
    public void Given_a_categorical_distribution_When_written_Then_the_reference_and_the_flag_are_in_the_json()
    {
        using var stream = new MemoryStream();
        using (var writer = new System.Text.Json.Utf8JsonWriter(stream))
            (Distribution.Of([0, 0, 1]) with { Categorical = true }).Write(writer);
        using var json = System.Text.Json.JsonDocument.Parse(stream.ToArray());

        json.RootElement.GetProperty("reference").EnumerateArray().Select(v => v.GetDouble()).ShouldBe([0, 0, 1]);
        json.RootElement.GetProperty("categorical").GetBoolean().ShouldBeTrue();
        json.RootElement.GetProperty("count").GetInt64().ShouldBe(3);
    }
}
