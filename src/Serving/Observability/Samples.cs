using System.Text.Json;
using System.Threading.Channels;
using System.Threading.RateLimiting;
using EventMlOps.Serving.Hosting;

namespace EventMlOps.Serving.Observability;

/// <summary>One sampled request: what a version was given and what it answered.</summary>
public sealed record Sample(DateTimeOffset Time, string Route, string Model, int Version, object Input, object Output);

/// <summary>Samples inputs and outputs for drift monitoring off the request path: at most
/// <c>Serving:SamplesPerSecond</c> are taken, queued in a bounded channel (dropped when it is full, never waited for)
/// and appended by this background writer to <c>{Serving:Samples}/samples-yyyyMMdd.jsonl</c>.</summary>
public sealed class Samples : BackgroundService
{
    private readonly Channel<Sample> _queue = Channel.CreateBounded<Sample>(new BoundedChannelOptions(1024) { FullMode = BoundedChannelFullMode.DropWrite, SingleReader = true });
    private readonly string? _folder;
    private readonly RateLimiter _rate;
    private readonly TimeProvider _time;

    public Samples(ServingOptions options, TimeProvider time)
    {
        (_folder, _time) = (options.Samples, time);
        var perSecond = Math.Max(1, (int)Math.Ceiling(options.SamplesPerSecond));
        _rate = new TokenBucketRateLimiter(new TokenBucketRateLimiterOptions
        {
            TokenLimit = perSecond, TokensPerPeriod = perSecond, ReplenishmentPeriod = TimeSpan.FromSeconds(1), QueueLimit = 0, AutoReplenishment = true,
        });
    }

    /// <summary>Whether to take this request's sample (checked before building it, so unsampled requests pay nothing).</summary>
    public bool Take()
    {
        if (_folder is null) return false;
        using var lease = _rate.AttemptAcquire();
        return lease.IsAcquired;
    }

    public void Add(string route, string model, int version, object input, object output) =>
        _queue.Writer.TryWrite(new Sample(_time.GetUtcNow(), route, model, version, input, output));

    protected override async Task ExecuteAsync(CancellationToken ct)
    {
        if (_folder is null) return;
        Directory.CreateDirectory(_folder);
        var json = new JsonSerializerOptions(JsonSerializerDefaults.Web);
        await foreach (var first in _queue.Reader.ReadAllAsync(ct))
        {
            await using var file = new StreamWriter(Path.Combine(_folder, $"samples-{first.Time:yyyyMMdd}.jsonl"), append: true);
            for (var sample = first; sample is not null; sample = _queue.Reader.TryRead(out var next) ? next : null)
                await file.WriteLineAsync(JsonSerializer.Serialize(sample, json));
        }
    }

    public override void Dispose()
    {
        _rate.Dispose();
        base.Dispose();
    }
}
