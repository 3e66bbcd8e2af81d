namespace EventMlOps.Cli.Tests.Output;

public sealed class FmtTests
{
    [Theory]
    [InlineData(0.76954, "0.7695")]
    [InlineData(1213417, "1213417")]
    [InlineData(0, "0")]
    [InlineData(3.3e-7, "3.3e-7")]
    [InlineData(-0.00018, "-1.8e-4")]
    public void Given_a_metric_When_it_is_printed_Then_small_values_keep_their_magnitude(double value, string printed) =>
        Fmt.Number(value).ShouldBe(printed);
}
