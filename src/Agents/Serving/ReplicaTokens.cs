using System.Net.Http.Headers;
using System.Net.Http.Json;
using System.Text.Json;
using EventMlOps.Agents.Hosting;
using EventMlOps.Contracts;
using EventMlOps.Contracts.Endpoints;

namespace EventMlOps.Agents.Serving;

/// <summary>Obtains a replica's own token from the control plane — scoped to its endpoint, short-lived, renewed by the
/// replica — with the agent's token and the endpoint's work-order grant. The agent cannot mint tokens itself.</summary>
public sealed class ReplicaTokens(ServingAgentOptions options, AgentToken token, WorkGrants grants)
{
    private static readonly HttpClient Http = new() { Timeout = TimeSpan.FromSeconds(10) };
    private static readonly JsonSerializerOptions Json = new(JsonSerializerDefaults.Web);

    public bool CanIssue(string endpoint) => grants.For(WorkGrants.Endpoint(endpoint)) is not null;

    /// <exception cref="ServingUnavailable">No grant for the endpoint yet, or the control plane refused.</exception>
    public async Task<string> IssueAsync(string endpoint, string replica, CancellationToken ct)
    {
        var controlPlane = options.ControlPlaneUrl
            ?? throw new ServingUnavailable("the control plane's URL is not configured on this agent (Agents:ControlPlaneUrl)");
        var grant = grants.For(WorkGrants.Endpoint(endpoint))
            ?? throw new ServingUnavailable($"no work order for '{endpoint}' is held yet (its grant); asked the control plane to send it");
        using var request = new HttpRequestMessage(HttpMethod.Post,
            new Uri(new Uri(controlPlane.TrimEnd('/') + "/"), $"api/endpoints/{Uri.EscapeDataString(endpoint)}/replica-token?replica={Uri.EscapeDataString(replica)}"));
        request.Headers.Authorization = new AuthenticationHeaderValue("Bearer", token.Current);
        request.Headers.Add(BusHeaders.GrantHttpHeader, grant);
        try
        {
            using var response = await Http.SendAsync(request, ct);
            if (!response.IsSuccessStatusCode)
                throw new ServingUnavailable($"the control plane refused a token for {replica}: {(int)response.StatusCode} {await Short(response, ct)}");
            return (await response.Content.ReadFromJsonAsync<ReplicaToken>(Json, ct))?.Token
                ?? throw new ServingUnavailable($"the control plane answered no token for {replica}");
        }
        catch (Exception e) when (e is HttpRequestException or TaskCanceledException && !ct.IsCancellationRequested)
        {
            throw new ServingUnavailable($"cannot reach the control plane for {replica}'s token: {e.Message}");
        }
    }

    private static async Task<string> Short(HttpResponseMessage response, CancellationToken ct)
    {
        var text = await response.Content.ReadAsStringAsync(ct);
        return text.Length > 300 ? text[..300] + "…" : text;
    }
}
