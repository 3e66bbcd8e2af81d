using EventMlOps.Training.Anomaly;
using EventMlOps.Training.Recommender;
using EventMlOps.Training.Running;

namespace EventMlOps.Training.Tests.Security;

/// <summary>The probe read a key file through a run's failure reason ("line 1: '&lt;the line&gt;' is not …"): what a
/// loader says about bad data names the line and the kind of problem, never the content.</summary>
public class DataNeverEchoedTests
{
    private const string Secret = "c2VjcmV0LWtleS1tYXRlcmlhbC0xMjM0NTY3ODkw";

    public static TheoryData<string> Files => new()
    {
        Secret + "\n",
        "root:x:0:0:root:/root:/bin/bash\n",
        "1\t2\t5\t881250949\n" + Secret + "\t2\t3\t4\n",
        "1::2::5::881250949\n3::" + Secret + "::3::4\n",
    };

    [Theory]
    [MemberData(nameof(Files))]
    public void Given_a_secret_in_a_ratings_file_When_it_fails_to_load_Then_the_error_does_not_quote_it(string content)
    {
        var path = Path.Combine(Directory.CreateTempSubdirectory("emo-echo-").FullName, "u.data");
        File.WriteAllText(path, content);
        var error = Should.Throw<UsageException>(() => MovieLensLoader.Load(path));
        error.Message.ShouldNotContain(Secret[..12]);
        error.Message.ShouldNotContain("root:x");
        error.Message.ShouldContain("line ");
    }

    [Theory]
    [InlineData("timestamp,temperature\n" + Secret + ",1\n")]
    [InlineData("timestamp,temperature\n2026-01-01T00:00:00Z," + Secret + "\n")]
    [InlineData(Secret + "," + Secret + "\n1,2\n")]
    public void Given_a_secret_in_a_sensor_file_When_it_fails_to_load_Then_the_error_does_not_quote_it(string content)
    {
        var error = Should.Throw<UsageException>(() => SensorCsvLoader.Load(new StringReader(content), "x.csv", []));
        error.Message.ShouldNotContain(Secret[..12]);
        error.Message.ShouldContain("line ");
    }
}
