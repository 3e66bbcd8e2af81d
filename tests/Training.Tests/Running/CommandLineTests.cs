using EventMlOps.Contracts.Training;
using EventMlOps.Training.Running;

namespace EventMlOps.Training.Tests.Running;

public class CommandLineTests
{
    private static readonly OptionSpec[] Specs =
    [
        new("out", ""), OptionSpec.Number(new TrainerParameter("epochs", 1, 100, Whole: true), ""), OptionSpec.Number(new TrainerParameter("lr", 0, 1), ""),
        OptionSpec.Number(new TrainerParameter("batch_size", 1, 1024, Whole: true), ""), new("layers", ""), new("generate", "", IsFlag: true),
    ];

    [Fact]
    public void Given_options_in_every_accepted_spelling_When_parsed_Then_they_read_back_typed()
    {
        var line = CommandLine.Parse("recommender", ["--generate", "--out", "x", "--epochs=3", "--batch_size", "64", "--param", "lr=0.01", "--layers", "64,32,16"], Specs);

        line.Flag("generate").ShouldBeTrue();
        line.String("out").ShouldBe("x");
        line.Int("epochs", 1).ShouldBe(3);
        line.Int("batch-size", 1).ShouldBe(64);
        line.Double("lr", 1).ShouldBe(0.01);
        line.IntList("layers", []).ShouldBe([64, 32, 16]);
        CommandLine.Parse("recommender", [], Specs).Int("epochs", 7).ShouldBe(7);
    }

    [Fact]
    public void Given_an_integral_number_from_a_run_request_When_read_as_a_whole_number_Then_it_is_accepted()
    {
        CommandLine.Parse("anomaly", ["--epochs", "10.0"], Specs).Int("epochs", 1).ShouldBe(10);
    }

    [Theory]
    [InlineData(new[] { "--bogus", "1" }, "unknown option '--bogus' for the recommender trainer")]
    [InlineData(new[] { "--param", "bogus=1" }, "unknown option '--bogus'")]
    [InlineData(new[] { "--out" }, "--out needs a value")]
    [InlineData(new[] { "stray" }, "unexpected argument 'stray'")]
    [InlineData(new[] { "--param", "lr" }, "not name=value")]
    public void Given_bad_usage_When_parsed_Then_it_is_a_usage_error_saying_what_is_wrong(string[] args, string message)
    {
        Should.Throw<UsageException>(() => CommandLine.Parse("recommender", args, Specs)).Message.ShouldContain(message);
    }

    [Theory]
    [InlineData("epochs", "0")]
    [InlineData("epochs", "101")]
    [InlineData("epochs", "2.5")]
    [InlineData("epochs", "many")]
    [InlineData("lr", "1.5")]
    [InlineData("lr", "NaN")]
    [InlineData("lr", "Infinity")]
    public void Given_an_out_of_range_value_When_read_Then_it_is_a_usage_error_naming_the_declared_range(string name, string value)
    {
        var line = CommandLine.Parse("recommender", ["--" + name, value], Specs);

        Should.Throw<UsageException>(() => line.Double(name, 1)).Message.ShouldContain($"--{name} must be ");
    }

    [Fact]
    public void Given_a_numeric_option_without_a_declared_range_When_read_Then_it_is_a_bug_not_bad_usage()
    {
        var line = CommandLine.Parse("recommender", ["--layers", "3"], Specs);

        Should.Throw<InvalidOperationException>(() => line.Int("layers", 1));
        Should.Throw<InvalidOperationException>(() => line.Int("lr", 1), "lr is not declared whole");
    }
}
