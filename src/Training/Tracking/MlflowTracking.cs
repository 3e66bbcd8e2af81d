using System.Net.Http.Headers;
using System.Text;
using System.Text.Json;
using System.Text.RegularExpressions;
using EventMlOps.Training.Running;

namespace EventMlOps.Training.Tracking;

/// <summary>Logs params, tags and metrics of the run to an MLflow-shaped tracking API
/// (<c>POST {MLFLOW_TRACKING_URI}/api/2.0/mlflow/runs/log-batch</c>, bearer <c>MLFLOW_TRACKING_TOKEN</c>) when
/// <c>MLFLOW_TRACKING_URI</c>, <c>MLFLOW_RUN_ID</c> and <c>MLFLOW_TRACKING_TOKEN</c> are all set. Tracking is best
/// effort: a failure is a warning on stderr, never the run's failure (the agent reports the outcome anyway).</summary>
public sealed partial class MlflowTracking : IDisposable
{
    private readonly HttpClient _http;
    private readonly Uri _logBatch;
    private readonly string _runId;
    private readonly TextWriter _warnings;

    private MlflowTracking(Uri baseUri, string runId, string token, TextWriter warnings)
    {
        _http = new HttpClient { Timeout = TimeSpan.FromSeconds(10) };
        _http.DefaultRequestHeaders.Authorization = new AuthenticationHeaderValue("Bearer", token);
        _logBatch = new Uri(baseUri, "api/2.0/mlflow/runs/log-batch");
        _runId = runId;
        _warnings = warnings;
    }

    /// <summary>The client for the run named by the environment, or null when tracking is not configured.</summary>
    public static MlflowTracking? FromEnvironment(Func<string, string?> environment, TextWriter warnings)
    {
        var uri = environment("MLFLOW_TRACKING_URI");
        var runId = environment("MLFLOW_RUN_ID");
        var token = environment("MLFLOW_TRACKING_TOKEN");
        if (string.IsNullOrWhiteSpace(uri) || string.IsNullOrWhiteSpace(runId) || string.IsNullOrWhiteSpace(token)) return null;
        if (!RunIdPattern().IsMatch(runId))
        {
            warnings.WriteLine($"warning: tracking disabled: MLFLOW_RUN_ID '{runId}' is not a 32-hex run id");
            return null;
        }
        if (!Uri.TryCreate(uri.EndsWith('/') ? uri : uri + "/", UriKind.Absolute, out var baseUri) || baseUri.Scheme is not ("http" or "https"))
        {
            warnings.WriteLine($"warning: tracking disabled: MLFLOW_TRACKING_URI '{uri}' is not an http(s) URL");
            return null;
        }
        return new MlflowTracking(baseUri, runId.ToLowerInvariant(), token, warnings);
    }

    public void LogStart(IEnumerable<KeyValuePair<string, string>> parameters, IEnumerable<KeyValuePair<string, string>> tags)
        => Post("params", JsonOut.Write(w =>
        {
            w.WriteStartObject();
            w.WriteString("run_id", _runId);
            w.WriteStartArray("params");
            foreach (var (key, value) in parameters) KeyValue(w, key, value);
            w.WriteEndArray();
            w.WriteStartArray("tags");
            foreach (var (key, value) in tags) KeyValue(w, key, value);
            w.WriteEndArray();
            w.WriteEndObject();
        }));

    /// <summary>All of one step's metrics in one call.</summary>
    public void LogMetrics(IEnumerable<KeyValuePair<string, double>> metrics, int step, DateTimeOffset now)
        => Post($"metrics of step {step}", JsonOut.Write(w =>
        {
            w.WriteStartObject();
            w.WriteString("run_id", _runId);
            w.WriteStartArray("metrics");
            foreach (var (key, value) in metrics.Where(m => double.IsFinite(m.Value)))
            {
                w.WriteStartObject();
                w.WriteString("key", key);
                w.WriteNumber("value", JsonOut.Round(value));
                w.WriteNumber("timestamp", now.ToUnixTimeMilliseconds());
                w.WriteNumber("step", step);
                w.WriteEndObject();
            }
            w.WriteEndArray();
            w.WriteEndObject();
        }));

    private static void KeyValue(Utf8JsonWriter w, string key, string value)
    {
        w.WriteStartObject();
        w.WriteString("key", key);
        w.WriteString("value", value);
        w.WriteEndObject();
    }

    private void Post(string what, string json)
    {
        try
        {
            using var request = new HttpRequestMessage(HttpMethod.Post, _logBatch) { Content = new StringContent(json, Encoding.UTF8, "application/json") };
            using var response = _http.Send(request);
            if (!response.IsSuccessStatusCode)
            {
                using var reader = new StreamReader(response.Content.ReadAsStream());
                var body = reader.ReadToEnd();
                _warnings.WriteLine($"warning: tracking: logging {what} answered {(int)response.StatusCode} {response.ReasonPhrase}: {Truncate(body)}");
            }
        }
        catch (Exception e) when (e is HttpRequestException or TaskCanceledException or IOException)
        {
            _warnings.WriteLine($"warning: tracking: logging {what} failed: {e.Message}");
        }
    }

    private static string Truncate(string text) => text.Length <= 300 ? text : text[..300] + "…";

    public void Dispose() => _http.Dispose();

    [GeneratedRegex("^[0-9a-fA-F]{32}\\z")]
    private static partial Regex RunIdPattern();
}
