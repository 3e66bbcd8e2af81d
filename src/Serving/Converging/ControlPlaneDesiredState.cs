using System.Net;
using System.Net.Http.Headers;
using System.Net.Http.Json;
using System.Runtime.CompilerServices;
using EventMlOps.Contracts.Endpoints;

namespace EventMlOps.Serving.Converging;

/// <summary>The control plane as the desired-state source: a long poll on
/// <c>GET /api/endpoints/{name}/desired?after={revision}&amp;waitSeconds=30</c> (200 with the state once its revision
/// passes <c>after</c>, 204 when nothing changed within the wait), re-established with a growing, jittered backoff
/// after failures; observed state goes to <c>POST /api/endpoints/facts/observed</c>.</summary>
public sealed class ControlPlaneDesiredState(HttpClient http, string endpoint, ILogger<ControlPlaneDesiredState> log) : IDesiredStateSource
{
    public const int WaitSeconds = 30;
    private static readonly TimeSpan FirstBackoff = TimeSpan.FromMilliseconds(500), LongestBackoff = TimeSpan.FromSeconds(30);

    public static HttpClient Client(string baseUrl, string token) => new()
    {
        BaseAddress = new Uri(baseUrl.TrimEnd('/') + "/"),
        // The long poll holds a request for WaitSeconds; each call sets its own deadline.
        Timeout = Timeout.InfiniteTimeSpan,
        DefaultRequestHeaders = { Authorization = new AuthenticationHeaderValue("Bearer", token) },
    };

    public async IAsyncEnumerable<ApplyEndpoint> WatchAsync([EnumeratorCancellation] CancellationToken ct)
    {
        long after = 0;
        var backoff = FirstBackoff;
        while (true)
        {
            ApplyEndpoint? desired;
            try
            {
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
        using var response = await http.GetAsync($"api/endpoints/{Uri.EscapeDataString(endpoint)}/desired?after={after}&waitSeconds={WaitSeconds}", deadline.Token);
        if (response.StatusCode == HttpStatusCode.NoContent) return null;
        if (!response.IsSuccessStatusCode)
            throw new HttpRequestException($"{(int)response.StatusCode} {await response.Content.ReadAsStringAsync(deadline.Token)}");
        return DesiredState.Parse(await response.Content.ReadAsStringAsync(deadline.Token));
    }

    /// <summary>Posts the report, retrying a few times: its command id makes a repeat harmless.</summary>
    public async Task ReportAsync(EndpointObserved observed, CancellationToken ct)
    {
        var backoff = FirstBackoff;
        for (var attempt = 1; ; attempt++)
        {
            try
            {
                using var response = await http.PostAsJsonAsync("api/endpoints/facts/observed", observed, DesiredState.Json, ct);
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
