using System.Text;
using EventMlOps.Agents.Drift;
using EventMlOps.Contracts.Drift;

namespace EventMlOps.Agents.Tests.Drift;

/// <summary>The references read out of a trainer's baseline.json, and the refusal of a hostile one.</summary>
public class DriftBaselineTests
{
    private static IReadOnlyList<FeatureReference> Parse(string json, ICollection<string>? skipped = null) =>
        DriftBaseline.Parse(Encoding.UTF8.GetBytes(json), skipped);

    private static string Feature(string body) => "{\"inputs\": {\"x\": {" + body + "}}}";

    [Fact]
    public void Given_a_baseline_with_references_When_parsed_Then_inputs_and_outputs_come_sorted_with_their_role_count_std_and_kind()
    {
        var skipped = new List<string>();
        var references = Parse("""
            {"model_kind": "recommender", "user_count": 3,
             "inputs": {
               "user_activity": {"count": 3, "mean": 2, "std": 0.8165, "histogram": {"edges": [1, 3], "counts": [3]}, "reference": [3, 1, 2]},
               "unknown_user": {"count": 3, "std": 0, "reference": [0, 0, 0], "categorical": true},
               "item": {"count": 9, "std": 2.5},
               "empty": {"count": 0, "std": 0, "reference": []}},
             "outputs": {"recommended_popularity": {"count": 2000, "std": 12.5, "reference": [{{VALUES}}]}}}
            """.Replace("{{VALUES}}", string.Join(",", Enumerable.Range(0, 1000).Reverse())), skipped);

        references.Count.ShouldBe(3);
        references[0].ShouldBe(new FeatureReference("user_activity", FeatureRole.Input, 3, 0.8165, references[0].Values, false));
        references[0].Values.ShouldBe([1, 2, 3]);
        references[1].ShouldBe(new FeatureReference("unknown_user", FeatureRole.Input, 3, 0, references[1].Values, true));
        references[2].Role.ShouldBe(FeatureRole.Output);
        (references[2].Count, references[2].Std, references[2].Values.Length, references[2].Values[0], references[2].Values[^1]).ShouldBe((2000L, 12.5, 1000, 0.0, 999.0));
        skipped.ShouldBe(["item", "empty"], "a feature written before references existed, or without values, is skipped and named");
    }

    [Theory]
    [InlineData("{\"inputs\": ", "not valid JSON")]
    [InlineData("[1, 2]", "not a JSON object")]
    [InlineData("{\"inputs\": [1]}", "inputs is not an object")]
    [InlineData("{\"inputs\": {\"x\": 3}}", "'x' is not an object")]
    [InlineData("{\"inputs\": {\"x\": {\"count\": NaN, \"std\": 1, \"reference\": [1]}}}", "not valid JSON")]
    [InlineData("{\"inputs\": {\"x\": {\"count\": 1, \"std\": 1e999, \"reference\": [1]}}}", "std is missing or not a finite number")]
    [InlineData("{\"inputs\": {\"x\": {\"count\": 1, \"std\": -1, \"reference\": [1]}}}", "std is negative")]
    [InlineData("{\"inputs\": {\"x\": {\"count\": 1.5, \"std\": 1, \"reference\": [1]}}}", "count is not a whole number ≥ 0")]
    [InlineData("{\"inputs\": {\"x\": {\"count\": \"2\", \"std\": 1, \"reference\": [1, 2]}}}", "count is missing")]
    [InlineData("{\"inputs\": {\"x\": {\"count\": 2, \"std\": 1, \"reference\": [1]}}}", "reference has 1 values, not min(count, 1000) = 2")]
    [InlineData("{\"inputs\": {\"x\": {\"count\": 2, \"std\": 1, \"reference\": \"1,2\"}}}", "reference is not an array")]
    [InlineData("{\"inputs\": {\"x\": {\"count\": 2, \"std\": 1, \"reference\": [1, \"SECRET-VALUE\"]}}}", "reference value #2 is not a finite number")]
    [InlineData("{\"inputs\": {\"x\": {\"count\": 1, \"std\": 1, \"reference\": [1], \"categorical\": \"yes\"}}}", "categorical is not true or false")]
    [InlineData("{\"inputs\": {\"x\": {\"count\": 1, \"std\": 1, \"reference\": [1]}, \"x\": {}}}", "'x' twice")]
    [InlineData("{\"inputs\": {\"bad\\u0007name\": {}}}", "control characters")]
    [InlineData("{\"inputs\": {\"x\": {\"count\": 1, \"std\": 1, \"reference\": [[[[[[[[[1]]]]]]]]]}}}", "not valid JSON")]
    public void Given_a_malformed_baseline_When_parsed_Then_it_is_refused_naming_the_place_without_its_content(string json, string reason)
    {
        var error = Should.Throw<InvalidDataException>(() => Parse(json));

        error.Message.ShouldContain(reason);
        error.Message.ShouldNotContain("SECRET");
    }

    [Fact]
    public void Given_oversized_parts_When_parsed_Then_the_size_the_features_the_name_and_the_reference_are_bounded()
    {
        Should.Throw<InvalidDataException>(() => DriftBaseline.Parse(new byte[DriftBaseline.MaxBytes + 1])).Message.ShouldContain("larger than 16 MiB");
        var many = "{\"inputs\": {" + string.Join(",", Enumerable.Range(0, 1025).Select(i => $"\"f{i}\": {{}}")) + "}}";
        Should.Throw<InvalidDataException>(() => Parse(many)).Message.ShouldContain("more than 1024 features");
        var longName = new string('n', 129);
        Should.Throw<InvalidDataException>(() => Parse($"{{\"inputs\": {{\"{longName}\": {{}}}}}}")).Message.ShouldNotContain(longName);
        var tooMany = Feature($"\"count\": 5000, \"std\": 1, \"reference\": [{string.Join(",", Enumerable.Repeat(1, 5000))}]");
        Should.Throw<InvalidDataException>(() => Parse(tooMany)).Message.ShouldContain("reference has 1001+ values, not min(count, 1000) = 1000");
    }
}
