using System.Collections.Concurrent;

namespace EventMlOps.Agents.Serving;

/// <summary>One change at a time per endpoint: a work order, a deletion and a supervisor's restart or renewal for the
/// same endpoint wait for each other (orders may be delivered in parallel).</summary>
public sealed class EndpointGates
{
    private readonly ConcurrentDictionary<string, SemaphoreSlim> _gates = new();

    public async Task<IDisposable> EnterAsync(string endpoint, CancellationToken ct)
    {
        var gate = _gates.GetOrAdd(endpoint, _ => new SemaphoreSlim(1, 1));
        await gate.WaitAsync(ct);
        return new Release(gate);
    }

    private sealed class Release(SemaphoreSlim gate) : IDisposable
    {
        public void Dispose() => gate.Release();
    }
}
