using EventMlOps.Serving.Streams;
using Npgsql;

namespace EventMlOps.Serving.Tests.Streams;

/// <summary>The scorer's default schema per endpoint: one endpoint, one schema, and always one PostgreSQL takes.</summary>
public sealed class StreamSchemaTests
{
    private static readonly string Long = new('s', 63);

    [Fact]
    public void Given_endpoint_names_that_differ_only_in_dots_dashes_or_their_tail_When_schemas_are_named_Then_each_has_its_own_valid_schema()
    {
        string[] endpoints = ["a.b", "a-b", "a_b", "ab", "sensors", "sensors.v2", "sensors-v2", Long, Long[..62] + "t", Long[..40], Long[..41]];
        var options = new StreamOptions();
        var schemas = endpoints.Distinct().Select(options.SchemaFor).ToList();

        schemas.Distinct().Count().ShouldBe(endpoints.Distinct().Count());
        using var database = NpgsqlDataSource.Create("Host=127.0.0.1");
        foreach (var schema in schemas) new StreamStore(database, schema).Schema.ShouldBe(schema);
    }

    [Fact]
    public void Given_a_short_plain_name_When_its_schema_is_named_Then_it_is_the_name_itself_and_a_configured_schema_wins()
    {
        new StreamOptions().SchemaFor("sensors").ShouldBe("emo_stream_sensors");
        new StreamOptions().SchemaFor("a.b").ShouldStartWith("emo_stream_a_b_");
        new StreamOptions { Schema = "mine" }.SchemaFor("a.b").ShouldBe("mine");
    }
}
