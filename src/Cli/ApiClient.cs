using System.Globalization;
using System.Net;
using System.Net.Http.Headers;
using System.Net.Sockets;
using System.Text;
using System.Text.Json;
using EventMlOps.Contracts;
using EventMlOps.Contracts.Views;
using EventMlOps.Hosting;

namespace EventMlOps.Cli;

/// <summary>A ProblemDetails answer of the control plane (or a bare HTTP error), as an exception the CLI prints.</summary>
public sealed class ApiProblem(int status, string title, string detail, string? field = null) : Exception($"{title}: {detail}")
{
    public int Status { get; } = status;
    public string Title { get; } = title;
    public string Detail { get; } = detail;
    public string? Field { get; } = field;
}

/// <summary>The one HTTP client of the CLI: bearer token and correlation id on every call, contract
/// commands as JSON bodies, and every non-success answer turned into an <see cref="ApiProblem"/>.</summary>
public sealed class ApiClient : IDisposable
{
    public static readonly JsonSerializerOptions Json = CreateJson();

    /// <summary>How long a call may wait for its answer; a transfer (an export or an import of a whole history, whose answer
    /// comes when the server is done with it) may take <see cref="TransferLimit"/>.</summary>
    public static readonly TimeSpan CallLimit = TimeSpan.FromSeconds(60), TransferLimit = TimeSpan.FromHours(1);

    private readonly HttpClient _http;

    public ApiClient(Uri baseUrl, string? token, string correlationId)
    {
        BaseUrl = baseUrl;
        Token = token;
        CorrelationId = correlationId;
        _http = new HttpClient { BaseAddress = baseUrl, Timeout = Timeout.InfiniteTimeSpan }; // each call has its limit
        if (token is not null)
            _http.DefaultRequestHeaders.Authorization = new AuthenticationHeaderValue("Bearer", token);
        // Every event caused by this invocation shares the id, so the audit trail groups one user intent.
        _http.DefaultRequestHeaders.Add("X-Correlation-Id", correlationId);
    }

    public Uri BaseUrl { get; }
    public string? Token { get; }
    public string CorrelationId { get; }

    public async Task<string> GetRawAsync(string path, CancellationToken ct)
    {
        using var response = await CallAsync(t => _http.GetAsync(Relative(path), t), CallLimit, ct);
        return await ReadAsync(response, ct);
    }

    public async Task<T> GetAsync<T>(string path, CancellationToken ct) => Deserialize<T>(await GetRawAsync(path, ct));

    /// <summary>POSTs a contract command; the answer says which stream it wrote and how many events it appended.</summary>
    public async Task<CommandAccepted> SendAsync<TCommand>(string path, TCommand command, CancellationToken ct) where TCommand : ICommand
    {
        var body = new StringContent(JsonSerializer.Serialize(command, Json), Encoding.UTF8, "application/json");
        using var response = await CallAsync(t => _http.PostAsync(Relative(path), body, t), CallLimit, ct);
        return Deserialize<CommandAccepted>(await ReadAsync(response, ct));
    }

    /// <summary>GETs a (long) body into a file.</summary>
    public async Task DownloadAsync(string path, string file, CancellationToken ct)
    {
        using var response = await CallAsync(t => _http.GetAsync(Relative(path), HttpCompletionOption.ResponseHeadersRead, t), TransferLimit, ct);
        if (!response.IsSuccessStatusCode) await ReadAsync(response, ct); // throws the problem
        await using var target = File.Create(file);
        await response.Content.CopyToAsync(target, ct);
    }

    /// <summary>POSTs a file as the body; the answer's JSON.</summary>
    public async Task<string> UploadAsync(string path, string file, string contentType, CancellationToken ct)
    {
        await using var content = File.OpenRead(file);
        var body = new StreamContent(content);
        body.Headers.ContentType = new MediaTypeHeaderValue(contentType);
        using var response = await CallAsync(t => _http.PostAsync(Relative(path), body, t), TransferLimit, ct);
        return await ReadAsync(response, ct);
    }

    /// <summary>POSTs a request that is no command (a projection rebuild); answers the raw JSON.</summary>
    public async Task<string> PostRawAsync<TBody>(string path, TBody body, CancellationToken ct)
    {
        var content = new StringContent(JsonSerializer.Serialize(body, Json), Encoding.UTF8, "application/json");
        using var response = await CallAsync(t => _http.PostAsync(Relative(path), content, t), CallLimit, ct);
        return await ReadAsync(response, ct);
    }

    /// <summary>Anonymous readiness probe; false when nothing answers.</summary>
    public static async Task<bool> IsReadyAsync(Uri baseUrl, CancellationToken ct)
    {
        using var http = new HttpClient { BaseAddress = baseUrl, Timeout = TimeSpan.FromSeconds(3) };
        try
        {
            using var response = await http.GetAsync("health/ready", ct);
            return response.IsSuccessStatusCode;
        }
        catch (Exception e) when (e is HttpRequestException or TaskCanceledException && !ct.IsCancellationRequested)
        {
            return false;
        }
    }

    /// <summary>"path?name=value&amp;…" with the values escaped and null values left out.</summary>
    public static string Path(string path, params (string Name, object? Value)[] query)
    {
        var pairs = query.Where(q => q.Value is not null && q.Value.ToString() is { Length: > 0 })
            .Select(q => $"{q.Name}={Uri.EscapeDataString(Convert.ToString(q.Value, CultureInfo.InvariantCulture)!)}")
            .ToList();
        return pairs.Count == 0 ? path : $"{path}?{string.Join('&', pairs)}";
    }

    public static string Segment(string value) => Uri.EscapeDataString(value);

    public static T Deserialize<T>(string json) =>
        JsonSerializer.Deserialize<T>(json, Json) ?? throw new CliError($"the control plane answered null where a {typeof(T).Name} was expected");

    public static string Pretty(string json)
    {
        using var doc = JsonDocument.Parse(json);
        return JsonSerializer.Serialize(doc.RootElement, new JsonSerializerOptions { WriteIndented = true });
    }

    public void Dispose() => _http.Dispose();

    // The base address may carry a path (behind a proxy); relative paths keep it.
    private static string Relative(string path) => path.TrimStart('/');

    private async Task<HttpResponseMessage> CallAsync(Func<CancellationToken, Task<HttpResponseMessage>> call, TimeSpan limit, CancellationToken ct)
    {
        using var timeout = CancellationTokenSource.CreateLinkedTokenSource(ct);
        timeout.CancelAfter(limit);
        try
        {
            return await call(timeout.Token);
        }
        catch (HttpRequestException e) when (e.InnerException is SocketException || e.HttpRequestError == HttpRequestError.ConnectionError)
        {
            throw new CliError($"the control plane at {BaseUrl} is not reachable ({e.Message}); start it with ./emo up or pass --url");
        }
        catch (OperationCanceledException) when (timeout.IsCancellationRequested && !ct.IsCancellationRequested)
        {
            throw new CliError($"the control plane at {BaseUrl} did not answer within {limit.TotalSeconds:0} s");
        }
    }

    private static async Task<string> ReadAsync(HttpResponseMessage response, CancellationToken ct)
    {
        var text = await response.Content.ReadAsStringAsync(ct);
        if (response.IsSuccessStatusCode)
            return text;
        throw Problem(response, text);
    }

    private static ApiProblem Problem(HttpResponseMessage response, string text)
    {
        var status = (int)response.StatusCode;
        if (response.Content.Headers.ContentType?.MediaType is "application/problem+json" or "application/json" && text.Length > 0)
        {
            try
            {
                var p = JsonDocument.Parse(text).RootElement;
                string? Text(string name) => p.TryGetProperty(name, out var v) && v.ValueKind == JsonValueKind.String ? v.GetString() : null;
                return new ApiProblem(status, Text("title") ?? response.ReasonPhrase ?? "HTTP " + status, Text("detail") ?? text, Text("field"));
            }
            catch (JsonException) { }
        }
        // The JWT middleware answers 401 with no body; its reason is in WWW-Authenticate.
        var detail = status == (int)HttpStatusCode.Unauthorized
            ? Unauthorized(response)
            : text.Length > 0 ? text : $"{response.RequestMessage?.Method} {response.RequestMessage?.RequestUri?.PathAndQuery}";
        return new ApiProblem(status, response.ReasonPhrase ?? "HTTP " + status, detail);
    }

    private static string Unauthorized(HttpResponseMessage response)
    {
        var challenge = string.Join(", ", response.Headers.WwwAuthenticate.Select(h => h.Parameter).Where(p => p is not null));
        var reason = response.RequestMessage?.Headers.Authorization is null
            ? "no bearer token was sent"
            : "the token was refused" + (challenge.Length > 0 ? $" ({challenge})" : "");
        return $"{reason}; pass --token, set EMO_TOKEN, or run ./emo up (it writes $EMO_HOME/token)";
    }

    private static JsonSerializerOptions CreateJson()
    {
        var o = new JsonSerializerOptions(JsonSerializerDefaults.Web);
        WireJson.Configure(o);
        return o;
    }
}
