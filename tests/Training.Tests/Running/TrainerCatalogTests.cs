using System.Globalization;
using EventMlOps.Contracts.Training;
using EventMlOps.Models;
using EventMlOps.Training.Anomaly;
using EventMlOps.Training.Recommender;
using EventMlOps.Training.Running;

namespace EventMlOps.Training.Tests.Running;

/// <summary>The control plane refuses at request time what emo-train would refuse when the job runs: the catalog in
/// contracts and the trainers' options must stay one and the same.</summary>
public class TrainerCatalogTests
{
    private static readonly TrainerCatalog Catalog = TrainerCatalog.BuiltIn;

    /// <summary>What the training agent sets itself (src/Agents/Training/TrainerCommand.cs) and refuses from a run.</summary>
    private static readonly string[] AgentSet =
        [.. new[] { TrainerProtocol.Data, TrainerProtocol.DataSha256, "generate", TrainerProtocol.Out, TrainerProtocol.Publish, TrainerProtocol.Device }.Select(TrainerCatalog.Normalize)];

    public static TheoryData<string> Kinds => [RecommenderTrainer.Name, AnomalyTrainer.Name];

    private static string Name(OptionSpec spec) => TrainerCatalog.Normalize(spec.Name);

    [Theory]
    [MemberData(nameof(Kinds))]
    public void Given_a_trainer_When_its_options_are_compared_with_the_catalog_Then_every_numeric_option_a_run_may_set_is_declared_with_its_bounds_and_nothing_else(string kind)
    {
        var options = TrainerProgram.Trainers[kind].Options;

        options.Where(o => o.Range is not null).Select(o => (Name(o), o.Range)).ShouldBe(Catalog.Kinds[kind].Select(p => (p.Name, (TrainerParameter?)p)), ignoreOrder: true);
        // The rest are lists, names, durations and moments (a run's text options) and flags (which a run cannot set).
        options.Where(o => o.Range is null && !o.IsFlag).Select(Name).Except(AgentSet).ShouldBe(Catalog.Options[kind].Select(o => o.Name), ignoreOrder: true);
        options.Where(o => o.IsFlag).Select(Name).Except(AgentSet).ShouldBe(kind == RecommenderTrainer.Name ? [] : ["keep_labelled"]);
        Catalog.Kinds[kind].Select(p => p.Name).ShouldNotContain(n => AgentSet.Contains(n));
    }

    public static TheoryData<string, string, double> BoundaryValues()
    {
        var data = new TheoryData<string, string, double>();
        foreach (var (kind, parameters) in TrainerCatalog.BuiltIn.Kinds)
            foreach (var p in parameters)
            {
                double[] values = p.Whole
                    ? [p.Min, p.Max, p.Min - 1, p.Max + 1, p.Min + 0.5]
                    : [p.Min, p.Max, Math.BitDecrement(p.Min), Math.BitIncrement(p.Max)];
                foreach (var value in values) data.Add(kind, p.Name, value);
            }
        return data;
    }

    [Theory]
    [MemberData(nameof(BoundaryValues))]
    public void Given_a_value_at_or_just_beyond_a_declared_bound_When_checked_by_the_catalog_and_parsed_by_the_trainer_Then_both_agree(string kind, string name, double value)
    {
        var parameter = Catalog.Kinds[kind].Single(p => p.Name == name);
        // The other share of a split at its minimum, so that each bound is reachable on its own.
        var hyperparameters = Catalog.Shares.GetValueOrDefault(kind)?.Keys.Where(k => k != name)
            .ToDictionary(k => k, k => Catalog.Kinds[kind].Single(p => p.Name == k).Min) ?? new Dictionary<string, double>();
        hyperparameters[name] = value;

        var acceptedByCatalog = Catalog.Problem(kind, hyperparameters) is null;

        acceptedByCatalog.ShouldBe(value >= parameter.Min && value <= parameter.Max && (!parameter.Whole || value == Math.Floor(value)));
        TrainerAccepts(kind, hyperparameters).ShouldBe(acceptedByCatalog);
    }

    [Theory]
    [InlineData(0.9, null, false)]
    [InlineData(0.9, 0.05, true)]
    [InlineData(null, 0.4, false)]
    [InlineData(0.5, 0.4, true)]
    public void Given_train_and_validation_shares_When_checked_Then_catalog_and_trainer_agree_that_they_leave_a_test_part(double? train, double? validation, bool accepted)
    {
        var hyperparameters = new Dictionary<string, double>();
        if (train is { } t) hyperparameters["train_fraction"] = t;
        if (validation is { } v) hyperparameters["validation-fraction"] = v;

        (Catalog.Problem(AnomalyTrainer.Name, hyperparameters) is null).ShouldBe(accepted);
        TrainerAccepts(AnomalyTrainer.Name, hyperparameters).ShouldBe(accepted);
    }

    [Fact]
    public void Given_the_fault_bounds_When_compared_with_what_serving_applies_Then_they_are_the_same()
    {
        foreach (var parameters in Catalog.Kinds.Values)
            parameters.Single(p => p.Name == "fault_latency_ms").Max.ShouldBe(InjectedFaults.MaxLatencyMs);
    }

    [Theory]
    [MemberData(nameof(Kinds))]
    public void Given_a_generator_parameter_When_the_trainer_reads_it_Then_it_is_a_hyperparameter_with_the_same_bounds_and_it_changes_the_generated_data(string kind)
    {
        foreach (var p in Catalog.Generators[kind])
        {
            Catalog.Kinds[kind].ShouldContain(p);
            Generator(kind, [new(p.Name, Text(p.Max))]).ShouldNotBe(Generator(kind, []), p.Name);
        }
    }

    [Theory]
    [InlineData("recommender", "users=200&items=300&interactions=6000&seed=42", null)]
    [InlineData("anomaly", "machines=3&days=0.5&seed=7", null)]
    [InlineData("anomaly", "Machines=3", null)]
    [InlineData("recommender", "users=1", "'users' must be a whole number in [2, 10000000]")]
    [InlineData("recommender", "users=2.5", "'users' must be a whole number")]
    [InlineData("recommender", "users=many", "'users' must be a whole number")]
    [InlineData("recommender", "users=NaN", "'users' must be a whole number")]
    [InlineData("recommender", "seed=1&seed=2", "'seed' is given more than once")]
    [InlineData("recommender", "epochs=3", "'epochs' is not a parameter of the recommender generator; it takes seed, users, items, interactions")]
    [InlineData("recommender", "out=/etc", "'out' is not a parameter")]
    [InlineData("anomaly", "users=5", "'users' is not a parameter of the anomaly generator")]
    [InlineData("forecaster", "seed=1", "generators: anomaly, recommender")]
    public void Given_generator_parameters_When_checked_Then_only_declared_ones_within_bounds_pass(string kind, string query, string? problem)
    {
        var parameters = query.Split('&').Select(p => p.Split('=')).Select(p => new KeyValuePair<string, string>(p[0], p[1])).ToList();

        var found = Catalog.GeneratorProblem(kind, parameters);

        if (problem is null) found.ShouldBeNull();
        else found.ShouldNotBeNull().ShouldContain(problem);
        if (problem is null) TrainerAccepts(kind, new Dictionary<string, double>(), parameters).ShouldBeTrue();
    }

    [Fact]
    public void Given_a_configured_kind_When_its_generator_is_checked_Then_it_has_none_and_its_hyperparameters_still_pass()
    {
        var catalog = Catalog.With(new Dictionary<string, IReadOnlyList<TrainerParameter>> { ["forecaster"] = [new("horizon", 1, 48, Whole: true)] });

        catalog.Problem("forecaster", new Dictionary<string, double> { ["horizon"] = 24 }).ShouldBeNull();
        catalog.GeneratorProblem("forecaster", []).ShouldNotBeNull();
        catalog.GeneratorProblem(RecommenderTrainer.Name, [new("users", "200")]).ShouldBeNull();
    }

    [Theory]
    [InlineData("Batch-Size", 64, null)]
    [InlineData("fault-latency-ms", 300, null)]
    [InlineData("epochs", 1e300, "hyperparameters.epochs")]
    [InlineData("out", 1, "hyperparameters.out")]
    [InlineData("device", 1, "hyperparameters.device")]
    [InlineData("--device cuda; rm", 1, "hyperparameters.?")]
    public void Given_hyperparameters_When_checked_Then_names_compare_as_the_trainer_compares_them_and_refusals_name_the_field(string name, double value, string? field)
    {
        var hyperparameters = new Dictionary<string, double> { [name] = value };

        (Catalog.Problem(RecommenderTrainer.Name, hyperparameters)?.Field).ShouldBe(field);
        if (field is null) TrainerAccepts(RecommenderTrainer.Name, hyperparameters).ShouldBeTrue();
    }

    [Fact]
    public void Given_an_unknown_kind_When_checked_Then_the_known_kinds_are_named() =>
        Catalog.Problem("forecaster", null).ShouldBe(("trainerKind", "is not a known trainer kind: anomaly, recommender"));

    /// <summary>The trainer's own reading of a run as the agent passes it: <c>--generate</c> with the dataset's generator
    /// parameters, then <c>--name value</c> per hyperparameter.</summary>
    private static bool TrainerAccepts(string kind, IReadOnlyDictionary<string, double> hyperparameters, IReadOnlyList<KeyValuePair<string, string>>? generator = null)
    {
        try
        {
            TrainerProgram.Prepare(kind, Arguments(generator ?? [], hyperparameters));
            return true;
        }
        catch (UsageException)
        {
            return false;
        }
    }

    private static List<string> Arguments(IReadOnlyList<KeyValuePair<string, string>> generator, IReadOnlyDictionary<string, double> hyperparameters) =>
    [
        "--generate", .. generator.SelectMany(g => new[] { "--" + g.Key, g.Value }), "--out", "unused",
        .. hyperparameters.SelectMany(h => new[] { "--" + h.Key, Text(h.Value) }),
    ];

    private static string Text(double value) => value.ToString("R", CultureInfo.InvariantCulture);

    private static object Generator(string kind, IReadOnlyList<KeyValuePair<string, string>> parameters)
    {
        var line = CommandLine.Parse(kind, Arguments(parameters, new Dictionary<string, double>()), TrainerProgram.Trainers[kind].Options);
        var seed = TrainingSession.Read(line).Seed;
        return kind == RecommenderTrainer.Name ? RecommenderTrainer.Read(line, seed).Generator : AnomalyTrainer.Read(line, seed).Generator;
    }
}
