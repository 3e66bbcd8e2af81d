using EventMlOps.Agents.Training;
using EventMlOps.Contracts.Training;

namespace EventMlOps.Agents.Tests.Training;

public class TrainerCommandTests
{
    private static LaunchTraining Order(string uri, Dictionary<string, double>? hyper = null, int gpus = 0, string kind = "recommender") => new(
        Guid.NewGuid(), "m", kind, uri, new string('a', 64), hyper ?? new() { ["epochs"] = 10, ["lr"] = 0.001 },
        new TrainingResources(2, 1024, gpus), "git:x");

    [Fact]
    public void Given_a_file_dataset_and_a_dll_trainer_When_built_Then_dotnet_runs_it_to_fetch_verify_and_publish_with_every_option()
    {
        var command = TrainerCommand.Build(Order("file:///data/u.data"), "/opt/emo/emo-train.dll", "/usr/bin/dotnet");

        command.Command.ShouldBe("/usr/bin/dotnet");
        command.Args.ShouldBe(["/opt/emo/emo-train.dll", "recommender", "--data", "file:///data/u.data", "--data-sha256", new string('a', 64),
            "--out", "out", "--publish", "--epochs", "10", "--lr", "0.001", "--device", "cpu"]);
    }

    [Fact]
    public void Given_text_options_When_built_Then_each_follows_its_name_as_one_argument_after_the_hyperparameters()
    {
        var order = Order("file:///d", kind: "anomaly") with { Options = new Dictionary<string, string> { ["hidden"] = "256,64,8", ["features"] = "a,b" } };

        TrainerCommand.Build(order, "/bin/trainer", "dotnet").Args.TakeLast(7).ShouldBe(["0.001", "--features", "a,b", "--hidden", "256,64,8", "--device", "cpu"]);
    }

    [Theory]
    [InlineData("hidden", "--out=/etc")]
    [InlineData("hidden", "")]
    [InlineData("hidden", "1\n--device cuda")]
    [InlineData("out", "x")]
    [InlineData("epochs", "10")] // a hyperparameter already
    public void Given_an_option_the_trainer_could_misread_When_built_Then_it_is_an_invalid_order(string name, string value) =>
        Should.Throw<InvalidTrainingOrder>(() => TrainerCommand.Build(Order("file:///d") with { Options = new Dictionary<string, string> { [name] = value } }, "t", "dotnet"));

    [Fact]
    public void Given_a_generator_uri_and_gpus_When_built_Then_the_trainer_generates_with_the_uris_parameters_on_cuda()
    {
        var order = Order("generate://recommender?seed=42&users=6000&items=4000", new() { ["epochs"] = 3 }, gpus: 1);

        var command = TrainerCommand.Build(order, "/bin/trainer", "dotnet");

        command.Command.ShouldBe("/bin/trainer");
        command.Args.ShouldBe(["recommender", "--generate", "--seed", "42", "--users", "6000", "--items", "4000", "--out", "out", "--publish",
            "--epochs", "3", "--device", "cuda"]);
    }

    [Fact]
    public void Given_a_hyperparameter_and_a_generator_parameter_of_the_same_name_When_built_Then_the_hyperparameter_wins()
    {
        var order = Order("generate://anomaly?seed=1&machines=4", new() { ["seed"] = 9 }, kind: "anomaly");

        TrainerCommand.Build(order, "t", "dotnet").Args
            .ShouldBe(["anomaly", "--generate", "--machines", "4", "--out", "out", "--publish", "--seed", "9", "--device", "cpu"]);
    }

    [Theory]
    [InlineData("generate://anomaly?seed=1", "generated for 'anomaly'")]
    [InlineData("generate://recommender?out=/etc", "not a generator parameter")]
    [InlineData("generate://recommender?publish=1", "not a generator parameter")]
    [InlineData("generate://recommender?seed", "not a generator parameter")]
    public void Given_an_unusable_generator_uri_When_built_Then_it_is_an_invalid_order(string uri, string reason)
    {
        Should.Throw<InvalidTrainingOrder>(() => TrainerCommand.Build(Order(uri), "t", "dotnet")).Message.ShouldContain(reason);
    }

    [Theory]
    [InlineData("device")]
    [InlineData("publish")]
    [InlineData("data_sha256")]
    [InlineData("--evil")]
    [InlineData("a b")]
    [InlineData("lr\n")] // a final line break passes a `$` check: names are matched to their very end
    public void Given_a_hyperparameter_that_is_not_an_option_name_When_built_Then_it_is_an_invalid_order(string name)
    {
        Should.Throw<InvalidTrainingOrder>(() => TrainerCommand.Build(Order("file:///d", new() { [name] = 1 }), "t", "dotnet"));
    }

    [Theory]
    [InlineData(10, "10")]
    [InlineData(0, "0")]
    [InlineData(0.001, "0.001")]
    [InlineData(2.5, "2.5")]
    [InlineData(1e-5, "1E-05")]
    public void Given_a_hyperparameter_value_When_formatted_Then_integral_values_have_no_decimals(double value, string expected) =>
        TrainerCommand.Format(value).ShouldBe(expected);
}
