namespace EventMlOps.Cli.Tests.Usage;

/// <summary>-o yaml converts the JSON documents a verb writes and passes everything else through as written — including text
/// that starts with a bracket, and whatever is still held when the verb ends.</summary>
public sealed class YamlOutputTests
{
    private static string Through(string written)
    {
        var inner = new StringWriter();
        var yaml = new YamlOutput(inner);
        yaml.Write(written);
        yaml.Flush();
        return inner.ToString();
    }

    [Fact]
    public void Given_a_pretty_document_and_json_lines_When_written_Then_each_is_one_yaml_document() =>
        Through("{\n  \"name\": \"a\",\n  \"n\": 2,\n  \"tags\": {}\n}\n{\"name\":\"b\",\"n\":\"3\"}\n")
            .ShouldBe("name: a\nn: 2\ntags: {}\n---\nname: b\nn: \"3\"\n".ReplaceLineEndings());

    [Theory]
    [InlineData("[5] olivia puts recommender@1 on endpoint 'recommender'\n")] // the demo's narration
    [InlineData("[x]\n")]                                                     // bracketed, whole on its line, not JSON
    [InlineData("{\nnot json\n}\n")]                                          // opened like a document, not one
    [InlineData("[\n  1,\n")]                                                 // a document never closed
    [InlineData("no newline at the end")]
    public void Given_text_that_is_not_a_json_document_When_written_Then_it_passes_through_as_written(string text) =>
        Through(text).ShouldBe(text);
}
