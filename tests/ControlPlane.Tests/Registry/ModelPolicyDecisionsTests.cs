using EventMlOps.Contracts.Drift;
using EventMlOps.Contracts.Endpoints;
using EventMlOps.Contracts.Registry;
using EventMlOps.Contracts;
using EventMlOps.ControlPlane.Auth;
using EventMlOps.ControlPlane.Commanding;
using EventMlOps.ControlPlane.Drift;
using EventMlOps.ControlPlane.Registry;
using static EventMlOps.ControlPlane.Tests.Testing.Spec;

namespace EventMlOps.ControlPlane.Tests.Registry;

public class ModelPolicyDecisionsTests
{
    private static readonly DateTimeOffset Now = new(2026, 12, 4, 12, 0, 0, TimeSpan.Zero);
    private static readonly RolloutStrategy Canary = new(RolloutKind.Canary, [new CanaryStep(10, 60), new CanaryStep(50, 60)]);

    private static SetModelPolicy Command(DriftPolicy? drift = null, RetrainingPolicy? retraining = null) =>
        new(Guid.NewGuid(), "ncf", drift, retraining);

    /// <summary>olga operates and may train: the roles a retraining loop with a rollout acts with.</summary>
    private static readonly Actor Olga = new("olga", new HashSet<string> { Roles.Operator, Roles.Scientist });

    private static object[] Set(SetModelPolicy c, ModelPolicy? current = null, bool modelExists = true, bool datasetRegistered = true, Actor? actor = null) =>
        ModelPolicyDecisions.Set(current, modelExists, datasetRegistered, c, actor ?? Olga, Now);

    [Fact]
    public void Given_a_registered_model_When_a_policy_is_set_Then_it_is_recorded_with_its_features_in_name_order_and_the_canarys_limits()
    {
        var drift = new DriftPolicy(new Dictionary<string, DriftTest> { ["z"] = new(DriftMethod.Psi, 0.2), ["a"] = new(DriftMethod.KolmogorovSmirnov, 0.01) }, 0.3);
        Set(Command(drift, new RetrainingPolicy("ratings", Canary))).ThenEvents(new ModelPolicySet("ncf",
            drift with { Features = new Dictionary<string, DriftTest> { ["a"] = new(DriftMethod.KolmogorovSmirnov, 0.01), ["z"] = new(DriftMethod.Psi, 0.2) } },
            new RetrainingPolicy("ratings", Canary with { Analysis = RolloutAnalysis.Default }), "olga", Now));
    }

    [Fact]
    public void Given_no_drift_policy_When_set_Then_the_defaults_are_recorded_and_no_retraining() =>
        Set(Command()).ThenEvents(new ModelPolicySet("ncf", DriftPolicy.Default with { Features = new Dictionary<string, DriftTest>() }, null, "olga", Now));

    [Fact]
    public void Given_the_same_policy_When_set_again_with_features_in_another_order_Then_nothing_is_appended()
    {
        var drift = new DriftPolicy(new Dictionary<string, DriftTest> { ["b"] = new(DriftMethod.JensenShannon, 0.2), ["a"] = new(DriftMethod.Wasserstein, 0.5) });
        var current = Given<ModelPolicy>(Set(Command(drift, new RetrainingPolicy("ratings", Canary))));
        var reordered = drift with { Features = drift.Features!.Reverse().ToDictionary() };
        Set(Command(reordered, new RetrainingPolicy("ratings", Canary)), current).ShouldBeEmpty();
        Set(Command(reordered, new RetrainingPolicy("ratings")), current).Length.ShouldBe(1, "no rollout is another policy");
    }

    [Theory]
    [InlineData(new[] { Roles.Operator }, true, "olga lacks the role 'scientist'")]
    [InlineData(new[] { Roles.Operator }, false, "olga lacks the role 'scientist'")]
    [InlineData(new[] { Roles.Scientist }, true, "olga lacks the role 'operator'")]
    [InlineData(new[] { Roles.Viewer }, true, "olga lacks the roles 'scientist' and 'operator'")]
    public void Given_a_sender_without_the_roles_the_loop_acts_with_When_retraining_is_set_Then_it_is_forbidden_naming_the_role(
        string[] roles, bool rollsOut, string message) =>
        ThenRefused<Forbidden>(() => Set(Command(retraining: new RetrainingPolicy("ratings", rollsOut ? Canary : null)), actor: new Actor("olga", roles.ToHashSet())),
            message);

    [Fact]
    public void Given_a_sender_with_the_roles_the_loop_needs_When_retraining_is_set_Then_it_is_recorded()
    {
        Set(Command(retraining: new RetrainingPolicy("ratings")), actor: new Actor("sam", new HashSet<string> { Roles.Scientist })).Length.ShouldBe(1);
        Set(Command(retraining: new RetrainingPolicy("ratings", Canary)), actor: new Actor("ada", new HashSet<string> { Roles.Admin })).Length.ShouldBe(1);
        Set(Command(), actor: new Actor("otto", new HashSet<string> { Roles.Operator })).Length.ShouldBe(1, "a drift policy alone acts in nobody's name");
    }

    [Fact]
    public void Given_an_unknown_model_When_a_policy_is_set_Then_it_is_not_found() =>
        ThenRefused<NotFound>(() => Set(Command(), modelExists: false), "model 'ncf'");

    [Fact]
    public void Given_a_dataset_name_nobody_registered_When_retraining_names_it_Then_it_is_not_found() =>
        ThenRefused<NotFound>(() => Set(Command(retraining: new RetrainingPolicy("nope")), datasetRegistered: false), "dataset 'nope'");

    [Theory]
    [InlineData("Bad Name", "retraining.dataset")]
    [InlineData("", "retraining.dataset")]
    public void Given_a_malformed_dataset_name_When_set_Then_the_field_is_named(string dataset, string field) =>
        ThenRefused<InvalidField>(() => Set(Command(retraining: new RetrainingPolicy(dataset))), "").Field.ShouldBe(field);

    [Fact]
    public void Given_a_canary_whose_weights_fall_When_retraining_rolls_it_out_Then_the_rollouts_own_check_refuses_it() =>
        ThenRefused<InvalidField>(() => Set(Command(retraining: new RetrainingPolicy("ratings",
            new RolloutStrategy(RolloutKind.Canary, [new CanaryStep(50, 60), new CanaryStep(10, 60)])))), "rise strictly").Field
            .ShouldBe("retraining.rollout.steps[1].weight");

    [Fact]
    public void Given_canary_limits_out_of_range_When_set_Then_the_analysis_field_is_named() =>
        ThenRefused<InvalidField>(() => Set(Command(retraining: new RetrainingPolicy("ratings", Canary with { Analysis = new RolloutAnalysis(MaxErrorRate: 2) }))),
            "fraction").Field.ShouldBe("retraining.rollout.analysis.maxErrorRate");

    public static TheoryData<DriftPolicy, string> OutOfRange => new()
    {
        { new DriftPolicy(DriftShare: 0), "drift.driftShare" },
        { new DriftPolicy(DriftShare: 1.5), "drift.driftShare" },
        { new DriftPolicy(DriftShare: double.NaN), "drift.driftShare" },
        { new DriftPolicy(WindowSamples: 9), "drift.windowSamples" },
        { new DriftPolicy(WindowSamples: 100_001), "drift.windowSamples" },
        { new DriftPolicy(WindowSeconds: 4), "drift.windowSeconds" },
        { new DriftPolicy(WindowSeconds: 86_401), "drift.windowSeconds" },
        { new DriftPolicy(DetectAfter: 0), "drift.detectAfter" },
        { new DriftPolicy(ClearAfter: 101), "drift.clearAfter" },
        { Test(DriftMethod.Auto, 0.05), "drift.features.x.method" },
        { Test((DriftMethod)42, 0.05), "drift.features.x.method" },
        { Test(DriftMethod.KolmogorovSmirnov, 1), "drift.features.x.threshold" },
        { Test(DriftMethod.ChiSquared, 0), "drift.features.x.threshold" },
        { Test(DriftMethod.JensenShannon, 1.01), "drift.features.x.threshold" },
        { Test(DriftMethod.Wasserstein, double.PositiveInfinity), "drift.features.x.threshold" },
        { Test(DriftMethod.Psi, double.NaN), "drift.features.x.threshold" },
        { new DriftPolicy(new Dictionary<string, DriftTest> { ["bad\nname"] = new(DriftMethod.Psi, 0.1) }), "drift.features" },
        { new DriftPolicy(new Dictionary<string, DriftTest> { [new string('f', JudgingWindows.MaxFeatureName + 1)] = new(DriftMethod.Psi, 0.1) }), "drift.features" },
        { new DriftPolicy(Enumerable.Range(0, 257).ToDictionary(i => $"f{i}", _ => new DriftTest(DriftMethod.Psi, 0.1))), "drift.features" },
    };

    private static DriftPolicy Test(DriftMethod method, double threshold) => new(new Dictionary<string, DriftTest> { ["x"] = new(method, threshold) });

    [Theory]
    [MemberData(nameof(OutOfRange))]
    public void Given_a_drift_policy_out_of_range_When_set_Then_the_field_is_named(DriftPolicy drift, string field) =>
        Should.Throw<InvalidField>(() => Set(Command(drift))).Field.ShouldBe(field);
}
