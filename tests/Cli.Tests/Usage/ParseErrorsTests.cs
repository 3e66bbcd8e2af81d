namespace EventMlOps.Cli.Tests.Usage;

/// <summary>A command line that does not parse gets one line on what is wrong, with the closest known name, and one pointing
/// to the verb's help: no help dump, no .NET type names, exit 2.</summary>
public sealed class ParseErrorsTests
{
    [Theory]
    [InlineData("trian", "'trian' is not a command of emo; did you mean 'train'?", "emo")]
    [InlineData("endpoints shwo x", "'shwo' is not a command of emo endpoints; did you mean 'show'?", "emo endpoints")]
    [InlineData("train anomaly --epoch 3", "'--epoch' is not an option of emo train; did you mean '--epochs'?", "emo train")]
    [InlineData("runs list --jsno", "'--jsno' is not an option of emo runs list; did you mean '--json'?", "emo runs list")]
    [InlineData("train anomaly --frobnicate", "'--frobnicate' is not an option of emo train", "emo train")]
    [InlineData("train anomaly --epochs three", "--epochs: 'three' is not a whole number", "emo train")]
    [InlineData("runs show not-a-guid", "<run-id>: 'not-a-guid' is not an id (a GUID, e.g. 3f2b9c1e-…, with or without dashes)", "emo runs show")]
    [InlineData("runs show", "emo runs show needs <run-id>", "emo runs show")]
    [InlineData("train anomaly --data", "--data needs a value (a path)", "emo train")]
    [InlineData("train anomly", "<trainer>: 'anomly' is not one of recommender, anomaly", "emo train")]
    [InlineData("endpoints", "emo endpoints needs a command: create, rollout, promote, abort, rollback, delete, show, list", "emo endpoints")]
    public async Task Given_a_command_line_that_does_not_parse_When_run_Then_one_plain_line_says_why_and_one_where_the_help_is(string line, string why, string verb)
    {
        var (stdout, stderr) = (new StringWriter(), new StringWriter());

        var exit = await EmoCli.RunAsync(line.Split(' '), stdout, stderr, TestContext.Current.CancellationToken);

        exit.ShouldBe(2);
        stderr.ToString().ShouldBe($"error: {why}\nsee '{verb} --help'\n");
        stdout.ToString().ShouldBeEmpty();
    }
}
