using System.Text.Json;
using System.Net;
using System.Net.Http.Headers;
using System.Net.Http.Json;
using System.Runtime.CompilerServices;
using EventMlOps.Contracts;
using EventMlOps.Contracts.Endpoints;
using EventMlOps.Contracts.Streams;
using EventMlOps.Serving.Hosting;

namespace EventMlOps.Serving.Converging;

/// <summary>The control plane as the desired-state source: a long poll on
/// <c>GET /api/endpoints/{name}/desired?after={revision}&amp;waitSeconds=30</c> (200 with the state once its revision
/// passes <c>after</c>, 204 when nothing changed within the wait), re-established with a growing, jittered backoff
/// after failures; observed state goes to <c>POST /api/endpoints/facts/observed</c>. The replica's token (scoped to its
/// endpoint, short-lived) is renewed with itself every <see cref="RenewEvery"/> while the endpoint exists.</summary>
public sealed class ControlPlaneDesiredState(HttpClient http, string endpoint, string token, ILogger<ControlPlaneDesiredState> log) : IDesiredStateSource
{
    public const int WaitSeconds = 30;
    private static readonly TimeSpan FirstBackoff = TimeSpan.FromMilliseconds(500), LongestBackoff = TimeSpan.FromSeconds(30);

    /// <summary>Well within the control plane's one-hour replica tokens.</summary>
    public static readonly TimeSpan RenewEvery = TimeSpan.FromMinutes(20);

    private string _token = token;
    private DateTimeOffset _renewed = DateTimeOffset.UtcNow;

    public static HttpClient Client(string baseUrl) => new()
    {
        BaseAddress = new Uri(baseUrl.TrimEnd('/') + "/"),
        // The long poll holds a request for WaitSeconds; each call sets its own deadline.
        Timeout = Timeout.InfiniteTimeSpan,
    };

    /// <summary>Exchanges the current token for a fresh one; a refusal (e.g. a hand-issued token that cannot be
    /// renewed, or a deleted endpoint) is logged and the current token kept until it expires.</summary>
    private async Task RenewIfDueAsync(CancellationToken ct)
    {
        if (DateTimeOffset.UtcNow - _renewed < RenewEvery) return;
        _renewed = DateTimeOffset.UtcNow;
        try
        {
            using var response = await http.SendAsync(Request(HttpMethod.Post, $"api/endpoints/{Uri.EscapeDataString(endpoint)}/replica-token"), ct);
            if (response.IsSuccessStatusCode && await response.Content.ReadFromJsonAsync<ReplicaToken>(DesiredState.Json, ct) is { } renewed)
                _token = renewed.Token;
            else
                log.LogWarning("Renewing the token of {Endpoint}'s replica was refused ({Status}); keeping the current one", endpoint, (int)response.StatusCode);
        }
        catch (Exception e) when (e is HttpRequestException or JsonException && !ct.IsCancellationRequested)
        {
            log.LogWarning("Renewing the token of {Endpoint}'s replica failed ({Reason}); trying again later", endpoint, e.Message);
        }
    }

    private HttpRequestMessage Request(HttpMethod method, string path, HttpContent? content = null)
    {
        var request = new HttpRequestMessage(method, path) { Content = content };
        request.Headers.Authorization = new AuthenticationHeaderValue("Bearer", _token);
        return request;
    }

    public async IAsyncEnumerable<ApplyEndpoint> WatchAsync([EnumeratorCancellation] CancellationToken ct)
    {
        long after = 0;
        var backoff = FirstBackoff;
        while (true)
        {
            ApplyEndpoint? desired;
            try
            {
                await RenewIfDueAsync(ct);
                desired = await PollAsync(after, ct);
                backoff = FirstBackoff;
            }
            catch (Exception e) when (!ct.IsCancellationRequested)
            {
                log.LogWarning("Polling the control plane for {Endpoint} failed ({Reason}); retrying in {Seconds:0.0} s", endpoint, e.Message, backoff.TotalSeconds);
                await Task.Delay(backoff * (0.8 + 0.4 * Random.Shared.NextDouble()), ct);
                backoff = TimeSpan.FromTicks(Math.Min(backoff.Ticks * 2, LongestBackoff.Ticks));
                continue;
            }
            if (desired is null) continue;
            after = desired.Revision;
            yield return desired;
        }
    }

    /// <summary>The desired state, or null when the wait passed without a change.</summary>
    private async Task<ApplyEndpoint?> PollAsync(long after, CancellationToken ct)
    {
        using var deadline = CancellationTokenSource.CreateLinkedTokenSource(ct);
        deadline.CancelAfter(TimeSpan.FromSeconds(WaitSeconds + 15));
        using var response = await http.SendAsync(Request(HttpMethod.Get, $"api/endpoints/{Uri.EscapeDataString(endpoint)}/desired?after={after}&waitSeconds={WaitSeconds}"), deadline.Token);
        if (response.StatusCode == HttpStatusCode.NoContent) return null;
        if (!response.IsSuccessStatusCode)
            throw new HttpRequestException($"{(int)response.StatusCode} {await response.Content.ReadAsStringAsync(deadline.Token)}");
        return DesiredState.Parse(await response.Content.ReadAsStringAsync(deadline.Token));
    }

    /// <summary>Posts an anomaly alarm fact once. A 4xx other than 401, 403, 408 and 429 will not change on a retry: logged, and
    /// the fact taken as done.</summary>
    public async Task<bool> ReportFactAsync(IReplicaFact fact, CancellationToken ct)
    {
        var route = fact switch
        {
            AnomalyAlarmRaised => "api/alarms/facts/raised",
            AnomalyAlarmCleared => "api/alarms/facts/cleared",
            _ => throw new ArgumentException($"no route for {fact.GetType().Name}"),
        };
        await RenewIfDueAsync(ct);
        using var response = await http.SendAsync(Request(HttpMethod.Post, route, JsonContent.Create(fact, fact.GetType(), options: DesiredState.Json)), ct);
        if (response.IsSuccessStatusCode) return true;
        var status = (int)response.StatusCode;
        var final = status is >= 400 and < 500 and not (401 or 403 or 408 or 429);
        log.Log(final ? LogLevel.Error : LogLevel.Warning, "The control plane answered {Status} to {Fact} {CommandId}: {Reason}", status, fact.GetType().Name,
            fact.CommandId, Refusal.Brief(await response.Content.ReadAsStringAsync(ct)));
        return final;
    }

    /// <summary>Posts the report, retrying a few times: its command id makes a repeat harmless.</summary>
    public async Task ReportAsync(EndpointStatusReport observed, CancellationToken ct)
    {
        var backoff = FirstBackoff;
        for (var attempt = 1; ; attempt++)
        {
            try
            {
                using var response = await http.SendAsync(Request(HttpMethod.Post, "api/endpoints/facts/observed", JsonContent.Create(observed, options: DesiredState.Json)), ct);
                if (response.IsSuccessStatusCode) return;
                throw new HttpRequestException($"{(int)response.StatusCode} {await response.Content.ReadAsStringAsync(ct)}");
            }
            catch (Exception e) when (!ct.IsCancellationRequested)
            {
                if (attempt == 5)
                {
                    log.LogError("Reporting revision {Revision} of {Endpoint} to the control plane failed: {Reason}", observed.Revision, endpoint, e.Message);
                    return;
                }
                await Task.Delay(backoff, ct);
                backoff *= 2;
            }
        }
    }
}
