using EventMlOps.Cli.Tests.Testing;

namespace EventMlOps.Cli.Tests.Training;

public sealed class RequestingTrainingTests(ControlPlaneFixture cp)
{
    [Fact]
    public async Task Given_a_registered_dataset_When_training_is_requested_Then_runs_show_has_the_request()
    {
        var lifecycle = new Lifecycle(cp);
        var (dataset, _) = await lifecycle.DatasetAsync();

        var requested = (await lifecycle.Alice.RunAsync("train", "recommender", "--detach", "--model", lifecycle.Model, "--dataset", dataset.ToString(),
            "--param", "lr=0.01", "--param", "epochs=3", "--param", "layers=32,16", "--gpus", "1", "--code-version", "abc123")).ShouldSucceed();
        var runId = requested.Out.Split(' ')[2];

        var shown = (await lifecycle.Alice.RunAsync("runs", "show", runId)).ShouldSucceed().Out;
        shown.ShouldContain($"run {runId}  "); // the fixture's real agent may already have picked it up
        shown.ShouldContain("epochs=3 layers=32,16 lr=0.01"); // a number and a list: a hyperparameter and a text option
        shown.ShouldContain("1 gpu");
        shown.ShouldContain("code abc123");
        shown.ShouldContain("by alice");
        (await lifecycle.Alice.RunAsync("runs", "list", "--model", lifecycle.Model)).ShouldSucceed().Out.ShouldContain(runId);
    }

    [Fact]
    public async Task Given_a_run_an_mlflow_client_started_When_shown_Then_it_names_its_experiment_and_what_was_logged_not_a_launch()
    {
        using var http = new HttpClient { BaseAddress = new Uri(cp.Url) };
        http.DefaultRequestHeaders.Authorization = new("Bearer", cp.Tokens.Issue("carol", [EventMlOps.Contracts.Roles.Scientist], TimeSpan.FromHours(1)));
        async Task<System.Text.Json.JsonElement> Post(string route, string json)
        {
            var response = await http.PostAsync($"/api/2.0/mlflow/{route}", new StringContent(json, System.Text.Encoding.UTF8, "application/json"));
            var body = await response.Content.ReadAsStringAsync();
            response.IsSuccessStatusCode.ShouldBeTrue(body);
            return System.Text.Json.JsonDocument.Parse(body).RootElement.Clone();
        }
        var experiment = $"notebook-{Guid.NewGuid():N}"[..20];
        var id = (await Post("experiments/create", $$"""{"name": "{{experiment}}"}""")).GetProperty("experiment_id").GetString();
        var run = (await Post("runs/create", $$"""{"experiment_id": "{{id}}"}""")).GetProperty("run").GetProperty("info").GetProperty("run_id").GetString()!;
        await Post("runs/log-batch", $$"""
            {"run_id": "{{run}}", "params": [{"key": "lr", "value": "0.01"}],
             "metrics": [{"key": "loss", "value": 0.9, "timestamp": 1, "step": 1}, {"key": "loss", "value": 0.3, "timestamp": 2, "step": 2}]}
            """);
        await Post("runs/update", $$"""{"run_id": "{{run}}", "status": "FINISHED"}""");

        var shown = (await cp.As("carol", EventMlOps.Contracts.Roles.Viewer).RunAsync("runs", "show", run)).ShouldSucceed().Out;
        shown.ShouldContain("Succeeded");
        shown.ShouldContain($"experiment   {experiment} (started by an MLflow client: nothing was launched)");
        shown.ShouldContain("metrics      loss=0.3");
        shown.ShouldContain("tracked      lr=0.01");
        shown.ShouldContain("by carol");
        shown.ShouldNotContain("dataset");
    }

    [Fact]
    public async Task Given_a_detached_run_When_shown_with_follow_Then_it_reattaches_until_the_run_ends_and_summarises_it()
    {
        var lifecycle = new Lifecycle(cp);
        var run = await lifecycle.RunAsync((await lifecycle.DatasetAsync()).Id);

        var followed = await lifecycle.Alice.RunAsync("runs", "show", run.ToString(), "--follow");

        // The fixture's agent runs the real trainer, which refuses this 21-item file (the NCF protocol needs 100): the run
        // ends failed, and the follower says so with the trainer's reason and exit 1, as ./emo train would.
        followed.ExitCode.ShouldBe(1, followed.Out);
        followed.Out.ShouldContain($"run {run} failed in ");
        followed.Out.ShouldContain("the NCF protocol ranks each held-out item among 99 others");
        var refused = await lifecycle.Alice.RunAsync("runs", "show", run.ToString(), "--follow", "--as-of", "1");
        (refused.ExitCode, refused.Err.Trim()).ShouldBe((2, "error: --follow watches the run now; it does not go with --as-of"));
    }

    [Fact]
    public async Task Given_a_run_When_it_is_shown_with_json_Then_the_output_is_the_api_json()
    {
        var lifecycle = new Lifecycle(cp);
        var run = await lifecycle.RunAsync((await lifecycle.DatasetAsync()).Id);

        var json = (await lifecycle.Alice.RunAsync("runs", "show", run.ToString(), "--json")).ShouldSucceed().Json();

        json.GetProperty("runId").GetGuid().ShouldBe(run);
        json.GetProperty("requestedBy").GetString().ShouldBe("alice");
        json.GetProperty("hyperparameters").GetProperty("lr").GetDouble().ShouldBe(0.01);
    }

    [Fact]
    public async Task Given_a_run_When_it_is_shown_as_yaml_Then_it_is_the_api_document_in_yaml_and_json_lines_become_yaml_documents()
    {
        var lifecycle = new Lifecycle(cp);
        var run = await lifecycle.RunAsync((await lifecycle.DatasetAsync()).Id);

        var yaml = (await lifecycle.Alice.RunAsync("runs", "show", run.ToString(), "-o", "yaml")).ShouldSucceed().Out;
        var tail = (await lifecycle.Alice.RunAsync("events", "tail", "--limit", "2", "-o", "yaml")).ShouldSucceed().Out;

        var document = new YamlDotNet.Serialization.DeserializerBuilder().Build().Deserialize<Dictionary<string, object>>(yaml);
        document["runId"].ShouldBe(run.ToString());
        document["requestedBy"].ShouldBe("alice");
        ((Dictionary<object, object>)document["hyperparameters"])["lr"].ShouldBe("0.01");
        yaml.TrimStart().ShouldNotStartWith("{", Case.Sensitive, "the JSON document is not passed through");
        tail.Split('\n').Count(l => l == "---").ShouldBe(1, "two events, two YAML documents");
        (await lifecycle.Alice.RunAsync("runs", "show", run.ToString(), "-o", "json")).ShouldSucceed().Json().GetProperty("runId").GetGuid().ShouldBe(run);
    }

    [Fact]
    public async Task Given_runs_When_listed_with_o_name_Then_each_line_is_a_run_id_that_runs_show_takes()
    {
        var lifecycle = new Lifecycle(cp);
        var run = await lifecycle.RunAsync((await lifecycle.DatasetAsync()).Id);

        var names = (await lifecycle.Alice.RunAsync("runs", "list", "--model", lifecycle.Model, "-o", "name")).ShouldSucceed().Out
            .Split('\n', StringSplitOptions.RemoveEmptyEntries);

        names.ShouldBe([run.ToString()]);
        (await lifecycle.Alice.RunAsync("runs", "show", names[0])).ShouldSucceed().Out.ShouldContain($"run {run}");
        (await lifecycle.Alice.RunAsync("runs", "show", names[0], "-o", "name")).ShouldSucceed().Out.ShouldBe($"{run}\n");
        var unnamed = await lifecycle.Alice.RunAsync("audit", "--limit", "1", "-o", "name");
        (unnamed.ExitCode, unnamed.Err.Trim()).ShouldBe((2, "error: -o name: this query's answer is not a list of named resources; use -o json or -o yaml"));
    }

    [Fact]
    public async Task Given_a_malformed_param_When_training_is_requested_Then_usage_error_exit_2()
    {
        var result = await new Lifecycle(cp).Alice.RunAsync("train", "recommender", "--detach", "--model", "x", "--dataset", Guid.NewGuid().ToString(), "--param", "lr");

        result.ExitCode.ShouldBe(2);
        result.Err.ShouldContain("--param 'lr' is not name=value");
        var text = await new Lifecycle(cp).Alice.RunAsync("train", "recommender", "--detach", "--model", "x", "--dataset", Guid.NewGuid().ToString(), "--param", "lr=fast");
        (text.ExitCode, text.Err.Trim()).ShouldBe((2, "error: --param lr takes a number in [1E-07, 10], not text"));
    }

    [Fact]
    public async Task Given_a_text_param_the_trainer_refuses_When_training_is_requested_Then_the_reason_names_the_option_and_its_form()
    {
        var result = await new Lifecycle(cp).Alice.RunAsync("train", "anomaly", "--detach", "--model", "x", "--dataset", Guid.NewGuid().ToString(),
            "--param", "hidden=256;64");

        result.ExitCode.ShouldBe(2);
        result.Err.ShouldBe("error: Invalid input: options.hidden: must be comma-separated layer sizes such as 256,64,8\n");
    }

    [Fact]
    public async Task Given_an_unknown_dataset_When_training_is_requested_Then_the_404_reason_is_printed_with_exit_2()
    {
        var result = await new Lifecycle(cp).Alice.RunAsync("train", "anomaly", "--detach", "--model", "x", "--dataset", Guid.NewGuid().ToString());

        result.ExitCode.ShouldBe(2);
        result.Err.ShouldStartWith("error: Unknown dataset:");
    }
}
