using System.Security.Cryptography;
using System.Text;
using System.Threading.Channels;
using System.Threading.RateLimiting;
using EventMlOps.Contracts.Drift;
using EventMlOps.Serving.Hosting;

namespace EventMlOps.Serving.Observability;

/// <summary>Samples what versions are given and answer, for the drift agent, off the request path: at most
/// <c>Serving:SamplesPerSecond</c> are taken, queued in a bounded channel (dropped — and counted — when it is full, never
/// waited for) and moved by this background reader into a ring of the last <c>Serving:SamplesBuffer</c> samples, each
/// numbered in sequence. <c>GET /samples?after=&amp;limit=</c> (<see cref="MapSamples"/>) pages through them.</summary>
public sealed class Samples : BackgroundService
{
    public const int QueueCapacity = 1024, MaxPage = 1000, DefaultPage = 500;

    private readonly Channel<DriftSample> _queue;
    private readonly DriftSample[] _ring;
    private readonly RateLimiter? _rate;
    private readonly TimeProvider _time;
    private long _last, _dropped;

    public Samples(ServingOptions options, TimeProvider time)
    {
        _time = time;
        _ring = new DriftSample[Math.Max(1, options.SamplesBuffer)];
        _queue = Channel.CreateBounded<DriftSample>(
            new BoundedChannelOptions(QueueCapacity) { FullMode = BoundedChannelFullMode.DropWrite, SingleReader = true },
            _ => Interlocked.Increment(ref _dropped));
        // Without a key nobody may read samples: none are taken.
        var perSecond = options.SamplesKey is { Length: > 0 } ? (int)Math.Ceiling(options.SamplesPerSecond) : 0;
        // A tenth of a second's worth every tenth of a second (below 10/s, one token each 1/rate s): samples spread over the
        // second rather than the first requests (or a stream's first batch) of each second taking them all.
        var (tokens, period) = perSecond >= 10 ? (perSecond / 10, TimeSpan.FromMilliseconds(100)) : (1, TimeSpan.FromSeconds(1.0 / Math.Max(1, perSecond)));
        _rate = perSecond <= 0 ? null : new TokenBucketRateLimiter(new TokenBucketRateLimiterOptions
        {
            TokenLimit = tokens, TokensPerPeriod = tokens, ReplenishmentPeriod = period, QueueLimit = 0, AutoReplenishment = true,
        });
    }

    /// <summary>Changes with every process start: a reader's cursor of another epoch means nothing here.</summary>
    public string Epoch { get; } = Guid.NewGuid().ToString("N");

    /// <summary>Whether to take this sample (checked before building it, so unsampled requests pay nothing).</summary>
    public bool Take()
    {
        if (_rate is null) return false;
        using var lease = _rate.AttemptAcquire();
        return lease.IsAcquired;
    }

    /// <summary>Queues a sample taken (<see cref="Take"/>); a full queue drops it.</summary>
    public void Add(string model, int version, IReadOnlyDictionary<string, double[]> inputs, IReadOnlyDictionary<string, double[]> outputs) =>
        _queue.Writer.TryWrite(new DriftSample(_time.GetUtcNow(), model, version, inputs, outputs));

    /// <summary>One scored window of an anomaly model → one sample, when the rate allows: each channel's readings of the
    /// window (raw units, named as the model's features) and its score as <c>error</c>. False when not taken.</summary>
    public bool AddWindow(Scoring.AnomalyModel model, ReadOnlySpan<float> window, float score)
    {
        if (!Take()) return false;
        var features = model.Features;
        var inputs = new Dictionary<string, double[]>(features.Length);
        for (var f = 0; f < features.Length; f++)
        {
            var channel = new double[model.Steps];
            for (var t = 0; t < channel.Length; t++) channel[t] = window[t * features.Length + f];
            inputs[features[f]] = channel;
        }
        Add(model.Name, model.Version, inputs, new Dictionary<string, double[]> { ["error"] = [score] });
        return true;
    }

    /// <summary>The samples numbered after <paramref name="after"/> still in the ring, at most <paramref name="limit"/>;
    /// a cursor beyond the last sample (one of another epoch) reads from the last one on.</summary>
    public DriftSamplePage Read(long after, int limit)
    {
        lock (_ring)
        {
            var from = Math.Max(Math.Min(after, _last), _last - _ring.Length) + 1;
            var to = Math.Min(_last, from + limit - 1);
            var page = new List<DriftSample>((int)Math.Max(0, to - from + 1));
            for (var n = from; n <= to; n++) page.Add(_ring[n % _ring.Length]);
            return new DriftSamplePage(Epoch, page.Count > 0 ? to : Math.Min(after, _last), Interlocked.Read(ref _dropped), page);
        }
    }

    protected override async Task ExecuteAsync(CancellationToken ct)
    {
        await foreach (var sample in _queue.Reader.ReadAllAsync(ct))
            lock (_ring)
                _ring[++_last % _ring.Length] = sample;
    }

    public override void Dispose()
    {
        _rate?.Dispose();
        base.Dispose();
    }
}

/// <summary><c>GET /samples?after=&lt;cursor&gt;&amp;limit=&lt;n&gt;</c>: a <see cref="DriftSamplePage"/>, for the drift agent only
/// (<c>Authorization: Bearer &lt;Serving:SamplesKey&gt;</c>; samples are users' data). Without a key the route does not exist.</summary>
public static class SamplesEndpoint
{
    public static void MapSamples(this IEndpointRouteBuilder app, ServingOptions options)
    {
        if (options.SamplesKey is not { Length: > 0 } key) return;
        var expected = SHA256.HashData(Encoding.UTF8.GetBytes(key));
        app.MapGet("/samples", (HttpContext http, Samples samples) => Page(http, samples, expected))
            .WithMetadata(new ModelRoute("samples", Oip: false, Admit: false));
    }

    private static DriftSamplePage Page(HttpContext http, Samples samples, byte[] expected)
    {
        // Compared as hashes in constant time: neither the key's bytes nor its length show in the timing.
        var given = http.Request.Headers.Authorization.ToString() is { } header && header.StartsWith("Bearer ", StringComparison.Ordinal) ? header[7..] : "";
        if (!CryptographicOperations.FixedTimeEquals(SHA256.HashData(Encoding.UTF8.GetBytes(given)), expected))
        {
            http.Response.Headers.WWWAuthenticate = "Bearer";
            throw new Refusal(StatusCodes.Status401Unauthorized, "the samples need the endpoint's samples key: Authorization: Bearer <key>");
        }
        var query = http.Request.Query;
        long after = 0;
        if (query["after"].ToString() is { Length: > 0 } afterText && !Integers.TryParse(afterText, System.Globalization.NumberStyles.None, out after))
            throw Refusal.BadInput($"after must be a cursor (a sequence number, 0 or more), not {Refusal.Shown(afterText)}");
        var limit = Samples.DefaultPage;
        if (query["limit"].ToString() is { Length: > 0 } limitText
            && (!Integers.TryParse(limitText, System.Globalization.NumberStyles.None, out limit) || limit is < 1 or > Samples.MaxPage))
            throw Refusal.BadInput($"limit must be an integer from 1 to {Samples.MaxPage}, not {Refusal.Shown(limitText)}");
        return samples.Read(after, limit);
    }
}
