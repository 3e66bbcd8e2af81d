using EventMlOps.Contracts.Drift;
using EventMlOps.Contracts.Endpoints;
using EventMlOps.ControlPlane.Commanding;
using EventMlOps.ControlPlane.Drift;
using EventMlOps.ControlPlane.Endpoints;
using static EventMlOps.ControlPlane.Tests.Endpoints.EndpointHistory;
using static EventMlOps.ControlPlane.Tests.Testing.Spec;

namespace EventMlOps.ControlPlane.Tests.Drift;

/// <summary>The control plane judges the drift agent's windows of "rec" (v1 serving) by the policy (defaults: KS p &lt; 0.05,
/// distances ≥ 0.1, half the inputs, alarm after 2 drifting windows, cleared after 2 clean ones).</summary>
public class JudgingWindowsTests
{
    private const string Agent = "drift-agent";
    private static readonly Guid AlarmFact = Guid.NewGuid();

    /// <summary>Window <paramref name="n"/> (minutes n..n+1 after <see cref="Now"/>) with two inputs and an output, each
    /// drifting or not as asked.</summary>
    private static DriftMeasured Window(int n, bool age, bool genre = false, bool score = false, int version = 1, Guid? id = null) =>
        new(id ?? Guid.NewGuid(), "rec", "ncf", version, Now.AddMinutes(n), Now.AddMinutes(n + 1), 500,
        [
            new FeatureScore("age", FeatureRole.Input, DriftMethod.KolmogorovSmirnov, age ? 0.001 : 0.4, 500),
            new FeatureScore("genre", FeatureRole.Input, DriftMethod.JensenShannon, genre ? 0.3 : 0.02, 500),
            new FeatureScore("score", FeatureRole.Output, DriftMethod.Wasserstein, score ? 0.5 : 0.01, 500),
        ]);

    private static object[] Judge(object[] given, DriftMeasured fact, DriftPolicy? policy = null) =>
        JudgingWindows.Judge(Given<EndpointState>(given), policy ?? DriftPolicy.Default, fact, Agent, fact.WindowEnd.AddSeconds(1));

    /// <summary>The events of judging each fact in turn on <paramref name="given"/> (all of them, in order).</summary>
    private static object[] Run(object[] given, params DriftMeasured[] facts)
    {
        var history = given.ToList();
        foreach (var f in facts) history.AddRange(Judge([.. history], f));
        return [.. history.Skip(given.Length)];
    }

    [Fact]
    public void Given_v1_serving_When_a_window_drifts_Then_it_is_recorded_judged_by_the_default_thresholds_and_no_alarm_yet()
    {
        var fact = Window(0, age: true);
        Judge(ServingV1, fact).ThenEvents(new EndpointDriftMeasured("rec", "ncf", 1, fact.WindowStart, fact.WindowEnd, 500,
        [
            new FeatureJudgement("age", FeatureRole.Input, DriftMethod.KolmogorovSmirnov, 0.001, 0.05, true, 500),
            new FeatureJudgement("genre", FeatureRole.Input, DriftMethod.JensenShannon, 0.02, 0.1, false, 500),
            new FeatureJudgement("score", FeatureRole.Output, DriftMethod.Wasserstein, 0.01, 0.1, false, 500),
        ], true, Agent, fact.WindowEnd.AddSeconds(1)));
    }

    [Fact]
    public void Given_one_drifting_window_When_a_second_drifts_Then_an_alarm_is_raised_from_the_first_windows_start()
    {
        var (first, second) = (Window(0, age: true), Window(1, age: true, genre: true, id: AlarmFact));
        var events = Run(ServingV1, first, second);

        events.Length.ShouldBe(3);
        var detected = events[2].ShouldBeOfType<DriftDetected>();
        detected.ShouldBe(detected with
        {
            Endpoint = "rec", ModelName = "ncf", Version = 1, AlarmId = AlarmFact, FirstWindowStart = first.WindowStart, WindowEnd = second.WindowEnd,
            Windows = 2, DetectedBy = Agent,
        });
        detected.Features.Select(f => f.Feature).ShouldBe(["age", "genre"], "the drifting features of the last window");
        Given<EndpointState>([.. ServingV1, .. events])!.Drift!.Single().Alarm.ShouldBe(AlarmFact);
    }

    [Fact]
    public void Given_an_open_alarm_When_more_windows_drift_Then_only_the_windows_are_recorded()
    {
        var events = Run(ServingV1, Window(0, true), Window(1, true), Window(2, true), Window(3, true));
        events.OfType<DriftDetected>().Count().ShouldBe(1);
        events.OfType<EndpointDriftMeasured>().Count().ShouldBe(4);
    }

    [Fact]
    public void Given_a_drifting_window_When_a_clean_one_comes_between_Then_the_streak_starts_over()
    {
        var events = Run(ServingV1, Window(0, true), Window(1, false), Window(2, true));
        events.OfType<DriftDetected>().ShouldBeEmpty();
        var third = Run(ServingV1, Window(0, true), Window(1, false), Window(2, true), Window(3, true)).OfType<DriftDetected>().Single();
        third.FirstWindowStart.ShouldBe(Now.AddMinutes(2));
    }

    [Fact]
    public void Given_an_open_alarm_When_one_clean_window_then_a_second_Then_it_is_cleared_after_the_second()
    {
        var alarm = Run(ServingV1, Window(0, true), Window(1, true, id: AlarmFact));
        var oneClean = Run([.. ServingV1, .. alarm], Window(2, false));
        oneClean.ShouldHaveSingleItem().ShouldBeOfType<EndpointDriftMeasured>().Drifted.ShouldBeFalse();

        var cleared = Run([.. ServingV1, .. alarm, .. oneClean], Window(3, false)).OfType<DriftCleared>().Single();
        cleared.ShouldBe(new DriftCleared("rec", "ncf", 1, AlarmFact, Now.AddMinutes(4), "2 clean windows in a row", Agent, Now.AddMinutes(4).AddSeconds(1)));
    }

    [Fact]
    public void Given_a_policy_When_windows_are_judged_Then_its_thresholds_share_and_hysteresis_apply_not_the_defaults()
    {
        var policy = new DriftPolicy(new Dictionary<string, DriftTest> { ["age"] = new(DriftMethod.KolmogorovSmirnov, 0.0001) }, DriftShare: 0.4,
            DetectAfter: 1);
        var fact = Window(0, age: true, genre: true);
        var events = Judge(ServingV1, fact, policy);
        var window = events[0].ShouldBeOfType<EndpointDriftMeasured>();
        window.Features[0].ShouldBe(new FeatureJudgement("age", FeatureRole.Input, DriftMethod.KolmogorovSmirnov, 0.001, 0.0001, false, 500));
        window.Drifted.ShouldBeTrue("genre alone is half the inputs, above the share of 0.4");
        events[1].ShouldBeOfType<DriftDetected>().Windows.ShouldBe(1);
    }

    [Fact]
    public void Given_the_inputs_are_clean_When_an_output_drifts_Then_the_window_drifts()
    {
        Judge(ServingV1, Window(0, age: false, score: true))[0].ShouldBeOfType<EndpointDriftMeasured>().Drifted.ShouldBeTrue();
        Judge(ServingV1, Window(0, age: false, genre: false))[0].ShouldBeOfType<EndpointDriftMeasured>().Drifted.ShouldBeFalse();
    }

    [Fact]
    public void Given_a_judged_window_When_the_same_or_an_earlier_window_comes_again_Then_nothing_is_recorded()
    {
        var first = Run(ServingV1, Window(5, true));
        Judge([.. ServingV1, .. first], Window(5, true)).ShouldBeEmpty();
        Judge([.. ServingV1, .. first], Window(3, false)).ShouldBeEmpty();
    }

    [Fact]
    public void Given_v1_serving_When_a_window_of_a_version_not_served_or_of_another_model_comes_Then_it_is_stale()
    {
        Judge(ServingV1, Window(0, true, version: 2)).ShouldBeEmpty();
        Judge(ServingV1, Window(0, true) with { ModelName = "other" }).ShouldBeEmpty();
        Judge([.. ServingV1, new EndpointDeleted("rec", "gone", "olga", Now)], Window(0, true)).ShouldBeEmpty();
    }

    [Fact]
    public void Given_v1_serving_since_now_When_a_window_dated_a_day_before_comes_Then_it_is_stale() =>
        Judge(ServingV1, Window(-24 * 60, true)).ShouldBeEmpty();

    [Fact]
    public void Given_v1_serving_again_after_a_rollback_When_a_window_of_its_earlier_serving_comes_Then_it_is_stale_and_one_of_now_counts()
    {
        object[] servingAgain = [.. CanaryOfV2, new RolloutPromoted("rec", R2, 2, "olga", Now.AddMinutes(10)),
            new EndpointRolledBack("rec", 2, 1, "file:///v1.onnx", new string('1', 64), "worse", "olga", Now.AddMinutes(60))];
        Judge(servingAgain, Window(5, true)).ShouldBeEmpty();
        Judge(servingAgain, Window(60, true)).OfType<EndpointDriftMeasured>().ShouldHaveSingleItem();
        Judge(servingAgain, Window(58, true)).OfType<EndpointDriftMeasured>().ShouldHaveSingleItem("a replica's clock may lag the control plane's");
    }

    [Fact]
    public void Given_a_policy_testing_a_feature_with_ks_When_the_agent_measured_it_with_psi_Then_the_fact_is_refused()
    {
        var policy = new DriftPolicy(new Dictionary<string, DriftTest> { ["genre"] = new(DriftMethod.Psi, 0.2) });
        ThenRefused<Refused>(() => Judge(ServingV1, Window(0, true), policy), "policy tests it with Psi");
    }

    public static TheoryData<string, Func<DriftMeasured, DriftMeasured>> Hostile => new()
    {
        { "features[0].score", f => f with { Features = [f.Features[0] with { Score = double.NaN }] } },
        { "features[0].score", f => f with { Features = [f.Features[0] with { Score = 1.5 }] } },
        { "features[0].score", f => f with { Features = [f.Features[2] with { Score = double.PositiveInfinity }] } },
        { "features[0].score", f => f with { Features = [f.Features[2] with { Score = -0.1 }] } },
        { "features[0].method", f => f with { Features = [f.Features[0] with { Method = DriftMethod.Auto }] } },
        { "features[0].method", f => f with { Features = [f.Features[0] with { Method = (DriftMethod)42 }] } },
        { "features[0].role", f => f with { Features = [f.Features[0] with { Role = (FeatureRole)7 }] } },
        { "features[0].feature", f => f with { Features = [f.Features[0] with { Feature = new string('a', 65) }] } },
        { "features[0].feature", f => f with { Features = [f.Features[0] with { Feature = "a\"b" }] } },
        { "features[1].feature", f => f with { Features = [f.Features[0], f.Features[0]] } },
        { "features[0].samples", f => f with { Features = [f.Features[0] with { Samples = 0 }] } },
        { "features", f => f with { Features = [.. Enumerable.Range(0, 129).Select(i => f.Features[0] with { Feature = $"f{i}" })] } },
        { "features", f => f with { Features = [] } },
        { "windowEnd", f => f with { WindowEnd = f.WindowStart } },
        { "windowEnd", f => f with { WindowStart = f.WindowStart.AddDays(1), WindowEnd = f.WindowEnd.AddDays(1) } },
        { "samples", f => f with { Samples = 0 } },
        { "modelName", f => f with { ModelName = "../x" } },
        { "version", f => f with { Version = 0 } },
    };

    [Theory]
    [MemberData(nameof(Hostile))]
    public void Given_v1_serving_When_a_fact_is_malformed_Then_it_is_refused_naming_the_field(string field, Func<DriftMeasured, DriftMeasured> spoil)
    {
        var fact = spoil(Window(0, true));
        var refused = ThenRefused<InvalidField>(() => JudgingWindows.Judge(Given<EndpointState>(ServingV1), DriftPolicy.Default, fact, Agent, Now.AddMinutes(2)), field);
        refused.Message.Length.ShouldBeLessThan(300, "an error never echoes large values");
    }
}
