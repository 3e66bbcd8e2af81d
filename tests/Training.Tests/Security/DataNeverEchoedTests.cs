using EventMlOps.Training.Anomaly;
using EventMlOps.Training.Recommender;
using EventMlOps.Training.Running;
using EventMlOps.Training.Tests.Testing;

namespace EventMlOps.Training.Tests.Security;

/// <summary>The probe read a key file through a run's failure reason ("line 1: '&lt;the line&gt;' is not …"): what a
/// trainer says about bad data names the line, field or column and the kind of problem, never the content.</summary>
[Collection(TorchCollection.Name)]
public class DataNeverEchoedTests
{
    private const string Token = "SECRET-TOKEN-abc123";
    private const string Key = "c2VjcmV0LWtleS1tYXRlcmlhbC0xMjM0NTY3ODkw";
    private const string Passwd = "root:x:0:0:root:/root:/bin/bash";

    public static TheoryData<string> Secrets => new() { Token, Key, Passwd };

    /// <summary>No 8 characters in a row of the secret, so neither the whole nor a truncated quote.</summary>
    private static void ShouldNotQuote(string text, string secret)
    {
        for (var i = 0; i + 8 <= secret.Length; i++)
            text.ShouldNotContain(secret.Substring(i, 8), Case.Sensitive, $"'{secret}' is quoted");
    }

    /// <summary>Ratings files with a secret as the first line, or in each field of a later one, in every format.</summary>
    private static IEnumerable<string> RatingsWith(string secret) =>
    [
        secret + "\n",
        secret + "\n1\t2\t5\t881250949\n",
        "1\t2\t5\t881250949\n" + secret + "\t2\t3\t4\n",
        "1\t2\t5\t881250949\n3\t" + secret + "\t3\t4\n",
        "1\t2\t5\t881250949\n3\t4\t" + secret + "\t4\n",
        "1\t2\t5\t881250949\n3\t4\t3\t" + secret + "\n",
        "1\t2\t5\t881250949\n" + secret + "\n",
        "1::2::5::881250949\n3::" + secret + "::3::4\n",
        "userId,movieId,rating,timestamp\n1,2,5," + secret + "\n",
    ];

    /// <summary>Sensor exports with a secret as the header, a timestamp, a feature value or a line of its own.</summary>
    private static IEnumerable<string> ReadingsWith(string secret) =>
    [
        secret + "\n",
        secret + "," + secret + "\n1,2\n",
        "timestamp,temperature\n" + secret + ",1\n",
        "timestamp,temperature\n2026-01-01T00:00:00Z," + secret + "\n",
        "timestamp,temperature\n" + secret + "\n",
        "timestamp,temperature,pressure\n1,2\n" + secret + "\n",
    ];

    [Theory]
    [MemberData(nameof(Secrets))]
    public void Given_a_secret_in_a_ratings_file_When_it_fails_to_load_Then_the_error_names_the_line_but_does_not_quote_it(string secret)
    {
        foreach (var content in RatingsWith(secret))
        {
            var error = Should.Throw<UsageException>(() => MovieLensLoader.Load(Temp.File(content, "u.data")), content);
            ShouldNotQuote(error.Message, secret);
            error.Message.ShouldContain("line ");
        }
    }

    [Theory]
    [MemberData(nameof(Secrets))]
    public void Given_a_secret_in_a_sensor_file_When_it_fails_to_load_Then_the_error_names_the_line_but_does_not_quote_it(string secret)
    {
        foreach (var content in ReadingsWith(secret))
        {
            var error = Should.Throw<UsageException>(() => SensorCsvLoader.Load(Temp.File(content, "readings.csv"), []), content);
            ShouldNotQuote(error.Message, secret);
            error.Message.ShouldContain("line ");
        }
    }

    [Fact]
    public void Given_a_malformed_line_When_loaded_Then_the_error_says_what_was_expected_by_field_and_column()
    {
        Should.Throw<UsageException>(() => MovieLensLoader.Load(new StringReader("1\t2\t5\t881250949\n3\t4\t5\n"), "u.data"))
            .Message.ShouldBe("u.data: line 2: expected 4 tab-separated fields (user, item, rating, timestamp), found 3");
        Should.Throw<UsageException>(() => MovieLensLoader.Load(new StringReader("1::2::5::881250949\n3::x::5::7\n"), "ratings.dat"))
            .Message.ShouldBe("ratings.dat: line 2: field 2 (item) is not a whole number");
        Should.Throw<UsageException>(() => SensorCsvLoader.Load(new StringReader("timestamp,machine,temperature\n1,m1,hot\n"), "x.csv", []))
            .Message.ShouldBe("x.csv: line 2: column 3 (feature 1 of 1) is not a finite number");
        Should.Throw<UsageException>(() => SensorCsvLoader.Load(new StringReader("machine,timestamp,temperature\nm1,soon,1\n"), "x.csv", []))
            .Message.ShouldBe("x.csv: line 2: column 2 (timestamp) is neither ISO 8601 nor a number");
    }

    public static TheoryData<string, string> TrainerFiles()
    {
        var data = new TheoryData<string, string>();
        foreach (var secret in new[] { Token, Key, Passwd })
        {
            foreach (var content in RatingsWith(secret)) data.Add(RecommenderTrainer.Name, content);
            foreach (var content in ReadingsWith(secret)) data.Add(AnomalyTrainer.Name, content);
            // A header the loader takes: the trainer fails later (too little data), after its first log lines.
            data.Add(AnomalyTrainer.Name, $"timestamp,{secret.Replace(',', ';')}\n1,2\n");
        }
        return data;
    }

    [Theory]
    [MemberData(nameof(TrainerFiles))]
    public void Given_a_secret_in_the_data_When_the_trainer_runs_on_it_Then_it_exits_2_and_nothing_it_prints_quotes_it(string trainer, string content)
    {
        var (output, errors) = (new StringWriter(), new StringWriter());

        var exit = TrainerProgram.Run([trainer, "--data", Temp.File(content), "--out", Temp.Folder()], output, errors, _ => null);

        exit.ShouldBe(TrainerProgram.BadUsage, errors.ToString());
        foreach (var secret in new[] { Token, Key, Passwd }) ShouldNotQuote(output + "\n" + errors, secret);
    }

    [Theory]
    [InlineData("recommender", Passwd + "\ndaemon:x:1:1:daemon:/usr/sbin:/usr/sbin/nologin\n")]
    [InlineData("anomaly", Key + "\n")]
    public async Task Given_a_key_or_passwd_file_as_data_When_the_trainer_process_runs_on_it_Then_neither_stdout_nor_stderr_quotes_it(string trainer, string content)
    {
        var run = await TrainerProcess.RunAsync([trainer, "--data", Temp.File(content), "--out", Temp.Folder()]);

        run.ExitCode.ShouldBe(TrainerProgram.BadUsage, run.Stderr);
        run.Stderr.ShouldContain("line 1:");
        ShouldNotQuote(run.Stdout + "\n" + run.Stderr, content.Split('\n')[0]);
        ShouldNotQuote(run.Stdout + "\n" + run.Stderr, "daemon:x:1:1:daemon");
    }
}
