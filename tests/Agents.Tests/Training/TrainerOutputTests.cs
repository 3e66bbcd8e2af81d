using EventMlOps.Agents.Runtime;
using EventMlOps.Agents.Training;

namespace EventMlOps.Agents.Tests.Training;

public class TrainerOutputTests
{
    private static CancellationToken Ct => TestContext.Current.CancellationToken;

    [Fact]
    public void Given_an_epoch_line_When_parsed_Then_its_epoch_and_numeric_metrics_are_read()
    {
        var line = TrainerOutput.ParseEpoch("EMO_EPOCH {\"epoch\":3,\"epochs\":10,\"seconds\":2.1,\"metrics\":{\"loss\":0.35,\"hr@10\":0.6,\"note\":\"x\"}}");

        line.ShouldNotBeNull();
        line.Epoch.ShouldBe(3);
        line.Epochs.ShouldBe(10);
        line.Seconds.ShouldBe(2.1);
        line.Metrics.ShouldBe(new Dictionary<string, double> { ["loss"] = 0.35, ["hr@10"] = 0.6 });
    }

    [Theory]
    [InlineData("epoch 3 done")]
    [InlineData("EMO_EPOCH {not json")]
    [InlineData("EMO_EPOCH {\"epoch\":0}")]
    [InlineData("EMO_EPOCH [1]")]
    [InlineData("EMO_RESULT {\"metrics\":{}}")]
    public void Given_any_other_line_When_parsed_Then_it_is_no_epoch(string line) => TrainerOutput.ParseEpoch(line).ShouldBeNull();

    [Fact]
    public void Given_a_result_line_When_parsed_Then_its_metrics_are_read() =>
        TrainerOutput.ParseResult("EMO_RESULT {\"metrics\":{\"tpr\":0.93}}").ShouldBe(new Dictionary<string, double> { ["tpr"] = 0.93 });

    [Fact]
    public void Given_a_metrics_file_When_read_Then_numbers_are_kept_and_a_non_object_is_invalid()
    {
        var file = Path.GetTempFileName();
        try
        {
            File.WriteAllText(file, "{\"hr@10\":0.7,\"name\":\"ncf\"}");
            TrainerOutput.ReadMetricsFile(file).ShouldBe(new Dictionary<string, double> { ["hr@10"] = 0.7 });
            File.WriteAllText(file, "[0.7]");
            Should.Throw<InvalidDataException>(() => TrainerOutput.ReadMetricsFile(file));
            File.WriteAllText(file, "{");
            Should.Throw<InvalidDataException>(() => TrainerOutput.ReadMetricsFile(file));
        }
        finally { File.Delete(file); }
    }

    [Fact]
    public Task Given_a_growing_log_When_read_repeatedly_through_the_runtime_Then_each_complete_line_is_returned_once_and_a_partial_one_at_the_end() =>
        WithLogAsync(async (reader, file) =>
        {
            File.AppendAllText(file, "one\ntw");
            (await reader.ReadLinesAsync(toEnd: false, Ct)).ShouldBe(["one"]);
            File.AppendAllText(file, "o\r\nthr");
            (await reader.ReadLinesAsync(toEnd: false, Ct)).ShouldBe(["two"]);
            (await reader.ReadLinesAsync(toEnd: false, Ct)).ShouldBeEmpty();
            File.AppendAllText(file, "ee");
            (await reader.ReadLinesAsync(toEnd: true, Ct)).ShouldBe(["three"]);
            (await reader.ReadLinesAsync(toEnd: true, Ct)).ShouldBeEmpty();
        });

    [Fact]
    public Task Given_a_job_writing_a_line_without_end_When_its_log_is_read_Then_the_agent_holds_at_most_one_capped_line() =>
        WithLogAsync(async (reader, file) =>
        {
            await File.WriteAllTextAsync(file, new string('x', 3 * LogReader.MaxLine) + "\nEMO_RESULT {}\n", Ct);

            var lines = await reader.ReadLinesAsync(toEnd: false, Ct);

            lines.ShouldAllBe(l => l.Length <= LogReader.MaxLine);
            lines[^1].ShouldBe("EMO_RESULT {}", "what follows the overlong line is still read");
        });

    /// <summary>A job's log file as a local runtime keeps it, and a reader of it through that runtime.</summary>
    private static async Task WithLogAsync(Func<LogReader, string, Task> test)
    {
        var root = Directory.CreateTempSubdirectory("emo-log-reader-").FullName;
        try
        {
            var runtime = new LocalProcessRuntime(root, TimeSpan.Zero);
            Directory.CreateDirectory(Path.GetDirectoryName(runtime.LogFile("train-x"))!);
            await test(new LogReader(runtime, "train-x"), runtime.LogFile("train-x"));
        }
        finally { Directory.Delete(root, recursive: true); }
    }

    [Theory]
    [InlineData("EMO_OUTPUT {\"name\":\"model\",\"uri\":\"file:///w/store/x\",\"sha256\":\"ab\"}", true)]
    [InlineData("  EMO_OUTPUT {\"name\":\"baseline\",\"uri\":\"s3://b/k\",\"sha256\":\"ab\",\"extra\":1}", true)]
    [InlineData("EMO_OUTPUT {\"name\":\"keys\",\"uri\":\"file:///etc/shadow\",\"sha256\":\"ab\"}", false)]
    [InlineData("EMO_OUTPUT {\"name\":\"model\",\"uri\":7,\"sha256\":\"ab\"}", false)]
    [InlineData("EMO_OUTPUT [1]", false)]
    [InlineData("EMO_OUTPUT {", false)]
    [InlineData("echo EMO_OUTPUT {\"name\":\"model\",\"uri\":\"u\",\"sha256\":\"ab\"}", false)]
    public void Given_an_output_line_When_parsed_Then_only_a_whole_claim_on_one_of_the_protocols_outputs_counts(string line, bool counts) =>
        (TrainerOutput.ParseOutput(line) is not null).ShouldBe(counts);

    [Fact]
    public void Given_a_run_When_fact_ids_are_derived_Then_they_are_stable_per_fact_and_distinct_across_facts_and_runs()
    {
        var run = Guid.NewGuid();

        FactIds.Outcome(run).ShouldBe(FactIds.Outcome(run));
        FactIds.Epoch(run, 1).ShouldBe(FactIds.Epoch(run, 1));
        new[] { FactIds.Submitted(run), FactIds.Started(run), FactIds.Epoch(run, 1), FactIds.Epoch(run, 2), FactIds.Outcome(run), FactIds.Outcome(Guid.NewGuid()) }
            .Distinct().Count().ShouldBe(6);
        FactIds.Outcome(run).Version.ShouldBe(8);
    }
}
