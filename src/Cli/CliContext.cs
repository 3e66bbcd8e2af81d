using System.CommandLine;
using System.Text.Json;
using EventMlOps.Cli.Hosting;
using EventMlOps.Contracts.Views;
using EventMlOps.ControlPlane.Auth;
using EventMlOps.Hosting;
using Microsoft.Extensions.Configuration;

namespace EventMlOps.Cli;

/// <summary>The options every verb shares. Recursive, so they may follow any verb: <c>emo runs list --json</c>.</summary>
public static class GlobalOptions
{
    public const string Url = "--url", Token = "--token", Home = "--home", Json = "--json", Correlation = "--correlation", Output = "--output";

    public static void AddTo(RootCommand root)
    {
        root.Add(new Option<string?>(Url) { Description = "Control plane URL (default: $EMO_URL, else the one `emo up` wrote to $EMO_HOME/controlplane.url)", Recursive = true });
        root.Add(new Option<string?>(Token) { Description = "Bearer token (default: $EMO_TOKEN, else $EMO_HOME/token written by `emo up`)", Recursive = true });
        root.Add(new Option<string?>(Home) { Description = "Local state folder (default: $EMO_HOME, else ./.emo)", Recursive = true });
        root.Add(new Option<bool>(Json) { Description = "Print the API's raw JSON (pretty printed) instead of a table or tree; the same as -o json", Recursive = true });
        var output = new Option<string?>(Output, "-o")
        {
            Description = "Output format: json (as --json), yaml (the same document as YAML), name (a query's resources, one name or id a line, as the show verbs take them), or wide (tables with every column and whole digests)",
            Recursive = true,
        };
        output.AcceptOnlyFromAmong("json", "yaml", "name", "wide");
        root.Add(output);
        root.Add(new Option<string?>(Correlation) { Description = "Correlation id for the events this call causes (default: a new one per call)", Recursive = true });
    }
}

/// <summary>What a verb needs from one invocation: its writers, the global options resolved, and the API
/// client (created on first use, so verbs that never call the API never need a URL or token).</summary>
public sealed class CliContext
{
    private readonly string? _url;
    private readonly string? _token;
    private ApiClient? _api;

    private CliContext(ParseResult parse)
    {
        var format = parse.GetValue<string?>(GlobalOptions.Output);
        // With -o yaml the invocation's output is a YamlOutput (EmoCli): verbs write JSON, and it is converted as written.
        Out = parse.InvocationConfiguration.Output;
        Err = parse.InvocationConfiguration.Error;
        Json = parse.GetValue<bool>(GlobalOptions.Json) || format is "json" or "yaml";
        NamesOnly = format == "name";
        Wide = format == "wide";
        Home = parse.GetValue<string?>(GlobalOptions.Home) is { } home ? Path.GetFullPath(home) : EmoHome.Resolve();
        CorrelationId = parse.GetValue<string?>(GlobalOptions.Correlation) ?? Guid.NewGuid().ToString();
        _url = parse.GetValue<string?>(GlobalOptions.Url);
        _token = parse.GetValue<string?>(GlobalOptions.Token);
        Local = new LocalControlPlane(Home);
        // The control plane reads the same keys (EMO_POSTGRES, Auth__SigningKey, Marten__Schema, ...) from its environment.
        Configuration = new ConfigurationBuilder()
            .AddEnvironmentVariables()
            .AddInMemoryCollection(Local.Settings()!)
            .AddInMemoryCollection([new("EMO_HOME", Home)])
            .Build();
    }

    public TextWriter Out { get; }
    public TextWriter Err { get; }
    public bool Json { get; }

    /// <summary><c>-o name</c>: a query prints the names of what it found, one a line, for scripts.</summary>
    public bool NamesOnly { get; }

    /// <summary><c>-o wide</c>: tables show every column (<see cref="Table.WideOnly"/>) and whole digests.</summary>
    public bool Wide { get; }
    public string Home { get; }
    public string CorrelationId { get; }
    public LocalControlPlane Local { get; }
    public IConfiguration Configuration { get; }

    public static CliContext From(ParseResult parse) => new(parse);

    /// <summary>Whether the user named a control plane (--url or $EMO_URL) rather than relying on the local one.</summary>
    public bool UrlIsExplicit => _url is not null || Environment.GetEnvironmentVariable("EMO_URL") is { Length: > 0 };

    /// <summary>The artifact store the local agents read (<c>Artifacts:Root</c> / <c>Artifacts:S3:*</c>, else <c>$EMO_HOME/artifacts</c>).</summary>
    public EventMlOps.Artifacts.IArtifactStore Artifacts => EventMlOps.Artifacts.ArtifactStore.FromConfiguration(Configuration, Home);

    /// <summary>The signing key the local control plane uses (<c>Auth:SigningKey</c>, else <c>$EMO_HOME/keys/signing.key</c>).</summary>
    public Tokens Tokens => Tokens.FromConfiguration(Configuration);

    /// <summary>--url, else $EMO_URL, else the URL `emo up` recorded (in <paramref name="local"/>, by default this home); null
    /// when none is known.</summary>
    public Uri? FindUrl(LocalControlPlane? local = null)
    {
        var text = _url ?? (Environment.GetEnvironmentVariable("EMO_URL") is { Length: > 0 } env ? env : (local ?? Local).RecordedUrl());
        if (string.IsNullOrWhiteSpace(text)) return null;
        if (!Uri.TryCreate(text.EndsWith('/') ? text : text + "/", UriKind.Absolute, out var url) || url.Scheme is not ("http" or "https"))
            throw CliError.Usage($"'{text}' is not an http(s) URL");
        return url;
    }

    /// <summary>--token, else $EMO_TOKEN, else the admin token `emo up` wrote; null when none is known.</summary>
    public string? FindToken(LocalControlPlane? local = null) =>
        _token ?? (Environment.GetEnvironmentVariable("EMO_TOKEN") is { Length: > 0 } env ? env : (local ?? Local).RecordedToken());

    public ApiClient Api => _api ??= ApiOf(Local);

    /// <summary>A client of the control plane named by --url/--token (or the environment), else of the one
    /// <paramref name="local"/> runs.</summary>
    public ApiClient ApiOf(LocalControlPlane local) => new(
        FindUrl(local) ?? throw new CliError($"control plane not running: run ./emo up (or pass --url / set EMO_URL) for {local.Home}"),
        FindToken(local) ?? throw CliError.Usage($"no token: pass --token, set EMO_TOKEN, or run ./emo up (it writes {local.TokenFile})"),
        CorrelationId);

    /// <summary>The one shape of a query verb: GET, then the raw JSON with --json, else the typed view rendered.</summary>
    public async Task<int> ShowAsync<T>(string path, Action<T> render, CancellationToken ct)
    {
        var raw = await Api.GetRawAsync(path, ct);
        if (NamesOnly) Names(raw, typeof(T));
        else if (Json) Out.WriteLine(ApiClient.Pretty(raw));
        else render(ApiClient.Deserialize<T>(raw));
        return 0;
    }

    /// <summary>Each resource's name as the verbs that show it take it (a run's or dataset's id, an endpoint's, model's or
    /// projection's name, a version's model@version), one a line: <c>./emo runs list -o name | xargs -n1 ./emo runs show</c>.</summary>
    private void Names(string raw, Type view)
    {
        Func<JsonElement, string?>? name = (view.IsGenericType ? view.GetGenericArguments()[0] : view).Name switch
        {
            nameof(TrainingRunSummary) or nameof(TrainingRunView) => e => e.GetProperty("runId").GetString(),
            nameof(DatasetView) => e => e.GetProperty("datasetId").GetString(),
            nameof(EndpointSummary) or nameof(EndpointView) or nameof(RegisteredModel) or nameof(ProjectionInfo) => e => e.GetProperty("name").GetString(),
            nameof(ModelVersionView) => e => $"{e.GetProperty("modelName").GetString()}@{e.GetProperty("version").GetInt32()}",
            _ => null,
        };
        if (name is null) throw CliError.Usage("-o name: this query's answer is not a list of named resources; use -o json or -o yaml");
        using var doc = JsonDocument.Parse(raw);
        foreach (var item in doc.RootElement.ValueKind == JsonValueKind.Array ? doc.RootElement.EnumerateArray().ToList() : [doc.RootElement])
            Out.WriteLine(name(item));
    }

    /// <summary>The one shape of a command verb's answer: the accepted command as JSON, or a sentence.</summary>
    public int Report(CommandAccepted accepted, string done)
    {
        if (Json)
            Out.WriteLine(JsonSerializer.Serialize(accepted, new JsonSerializerOptions(ApiClient.Json) { WriteIndented = true }));
        else
            Out.WriteLine(accepted switch
            {
                { Duplicate: true } => $"{done} (command {accepted.CommandId} was handled before: nothing new appended)",
                { Appended: 0 } => $"{done} (already so: nothing appended)",
                _ => done,
            });
        return 0;
    }
}
