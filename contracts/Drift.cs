namespace EventMlOps.Contracts.Drift;

/// <summary>A two-sample test or distance between a feature's training reference and a window of served values.
/// <c>Auto</c> picks as Evidently's defaults do (see <see cref="DriftPolicy"/>).</summary>
public enum DriftMethod { Auto, KolmogorovSmirnov, ChiSquared, Wasserstein, JensenShannon, Psi }

/// <summary>A method with its threshold. The p-value tests (<see cref="DriftMethod.KolmogorovSmirnov"/>,
/// <see cref="DriftMethod.ChiSquared"/>) drift when the p-value is below the threshold; the distances
/// (<see cref="DriftMethod.Wasserstein"/> normalised by the reference's standard deviation,
/// <see cref="DriftMethod.JensenShannon"/>, <see cref="DriftMethod.Psi"/>) when the score is at least the threshold.</summary>
public sealed record DriftTest(DriftMethod Method, double Threshold)
{
    public static bool IsPValue(DriftMethod method) => method is DriftMethod.KolmogorovSmirnov or DriftMethod.ChiSquared;

    public bool Drifts(double score) => IsPValue(Method) ? score < Threshold : score >= Threshold;
}

/// <summary>How a model's served traffic is judged for drift, per model (Evidently's defaults unless set).
/// A feature with no explicit test (<see cref="Features"/>) gets, by its training reference: ≤ 1,000 values — KS
/// (numeric with more than 5 distinct values) or chi-squared (otherwise), p &lt; 0.05; more — Wasserstein distance
/// normalised by the reference's standard deviation (numeric) or Jensen–Shannon distance (categorical), ≥ 0.1.
/// A window drifts when at least <see cref="DriftShare"/> of the input features drift, or any output (prediction
/// drift) does. An alarm is raised after <see cref="DetectAfter"/> drifting windows in a row and cleared after
/// <see cref="ClearAfter"/> clean ones. A window closes at <see cref="WindowSamples"/> samples or after
/// <see cref="WindowSeconds"/>, whichever comes first.</summary>
public sealed record DriftPolicy(
    IReadOnlyDictionary<string, DriftTest>? Features = null,
    double DriftShare = 0.5,
    int WindowSamples = 500,
    int WindowSeconds = 300,
    int DetectAfter = 2,
    int ClearAfter = 2)
{
    public static readonly DriftPolicy Default = new();

    public const int SmallReference = 1000, CategoricalDistinct = 5;
    public const double PValue = 0.05, Distance = 0.1;
}

/// <summary>Input features describe what the model was given; outputs what it answered (prediction drift).</summary>
public enum FeatureRole { Input, Output }

/// <summary>One feature's score in a window: the method the agent used and what it measured.</summary>
public sealed record FeatureScore(string Feature, FeatureRole Role, DriftMethod Method, double Score, int Samples);

/// <summary>One window of an endpoint's served traffic of one version, measured against that version's training
/// baseline by the drift agent. The control plane judges it (thresholds of the model's policy) and decides alarms.</summary>
public sealed record DriftMeasured(
    Guid CommandId,
    string Endpoint,
    string ModelName,
    int Version,
    DateTimeOffset WindowStart,
    DateTimeOffset WindowEnd,
    int Samples,
    IReadOnlyList<FeatureScore> Features) : IEndpointFact;

/// <summary>What a serving process sampled of one request or scored window, as features (the values the model was
/// given, per input feature) and outputs (what it answered, per output): the drift agent's raw material.</summary>
public sealed record DriftSample(
    DateTimeOffset Time, string Model, int Version, IReadOnlyDictionary<string, double[]> Inputs, IReadOnlyDictionary<string, double[]> Outputs);

/// <summary>A page of a serving process's samples after a cursor (<c>GET /samples?after=</c>). <paramref name="Epoch"/>
/// changes when the process restarts (cursors start over); <paramref name="Dropped"/> counts samples lost to a full buffer
/// since the process started.</summary>
public sealed record DriftSamplePage(string Epoch, long Next, long Dropped, IReadOnlyList<DriftSample> Samples);
