using System.Collections.Concurrent;
using System.Net;
using k8s;
using k8s.Autorest;
using k8s.Models;
using Microsoft.Extensions.Logging;

namespace EventMlOps.Agents.Kubernetes;

/// <summary>What the runtime sees of one kind of its objects, kept current by a watch rather than by polling (the
/// informer pattern of Kubernetes controllers): one list, then a watch resumed from the last <c>resourceVersion</c>
/// seen; a <c>410 Gone</c> (the server no longer has that version) leads to a fresh list, a dropped watch reconnects
/// after a growing pause. Reads are from memory; the runtime's own writes are remembered at once (a watch event may
/// come later).</summary>
/// <param name="list">Lists the objects of our label.</param>
/// <param name="watch">Watches them from a resource version, reporting how the stream ended to its error callback.</param>
public sealed class KubeInformer<T, TList>(
    Func<CancellationToken, Task<TList>> list,
    Func<string, Action<Exception>, CancellationToken, IAsyncEnumerable<(WatchEventType, T)>> watch,
    string kind,
    ILogger log)
    where T : class, IKubernetesObject<V1ObjectMeta>
    where TList : IMetadata<V1ListMeta>, IItems<T>
{
    private readonly ConcurrentDictionary<string, T> _items = new(StringComparer.Ordinal);
    private readonly TaskCompletionSource _synced = new(TaskCreationOptions.RunContinuationsAsynchronously);

    /// <summary>The first list arrived: reads answer from memory.</summary>
    public bool Synced => _synced.Task.IsCompleted;

    /// <summary>How many lists it made (the first and one per expired watch): what tests read to see a re-list.</summary>
    public int Lists { get; private set; }

    /// <summary>Every object now, once the first list arrived.</summary>
    public async Task<IReadOnlyCollection<T>> AllAsync(CancellationToken ct)
    {
        await _synced.Task.WaitAsync(ct);
        return [.. _items.Values];
    }

    public async Task<T?> GetAsync(string name, CancellationToken ct)
    {
        await _synced.Task.WaitAsync(ct);
        return _items.GetValueOrDefault(name);
    }

    /// <summary>An object the runtime just wrote (the response of its create, apply or patch).</summary>
    public void Remember(T written) => Apply(_items, WatchEventType.Modified, written);

    public void Forget(string name) => _items.TryRemove(name, out _);

    public async Task RunAsync(CancellationToken ct)
    {
        string? version = null;
        var pause = WatchBackoff.First;
        while (!ct.IsCancellationRequested)
        {
            try
            {
                if (version is null)
                {
                    var listed = await list(ct);
                    Replace(listed.Items);
                    version = listed.Metadata?.ResourceVersion ?? "0";
                    Lists++;
                    _synced.TrySetResult();
                }
                Exception? ended = null;
                await foreach (var (type, item) in watch(version, e => ended ??= e, ct))
                {
                    if (type == WatchEventType.Bookmark) { version = item.Metadata?.ResourceVersion ?? version; continue; }
                    if (type is WatchEventType.Error) continue;
                    Apply(_items, type, item);
                    version = item.Metadata?.ResourceVersion ?? version;
                    pause = WatchBackoff.First;
                }
                if (WatchBackoff.Expired(ended))
                {
                    log.LogInformation("The watch of {Kind} expired at resource version {Version}: listing again", kind, version);
                    version = null;
                }
            }
            catch (Exception e) when (!ct.IsCancellationRequested)
            {
                if (WatchBackoff.Expired(e)) { version = null; continue; }
                if (WatchBackoff.EndedQuietly(e)) continue; // the server closed a watch that had nothing to say: watch again
                log.LogWarning("Watching {Kind} failed ({Reason}); reconnecting in {Pause}", kind, e.Message, pause);
                try { await Task.Delay(pause, ct); }
                catch (OperationCanceledException) { return; }
                pause = WatchBackoff.Next(pause);
            }
        }
    }

    private void Replace(IEnumerable<T> items)
    {
        var listed = items.ToDictionary(i => i.Metadata.Name, StringComparer.Ordinal);
        foreach (var name in _items.Keys.Where(n => !listed.ContainsKey(n))) _items.TryRemove(name, out _);
        foreach (var (name, item) in listed) _items[name] = item;
    }

    /// <summary>One watch event on the cache: an object replaces an older copy only (our own write may already be newer
    /// than a late event), a deletion removes it unless the name holds a newer object (created again since).</summary>
    public static void Apply(ConcurrentDictionary<string, T> items, WatchEventType type, T item)
    {
        var name = item.Metadata.Name;
        if (type == WatchEventType.Deleted)
        {
            if (items.TryGetValue(name, out var held) && WatchBackoff.Newer(item.Metadata.ResourceVersion, held.Metadata.ResourceVersion))
                items.TryRemove(new KeyValuePair<string, T>(name, held));
            return;
        }
        items.AddOrUpdate(name, item, (_, held) => WatchBackoff.Newer(item.Metadata.ResourceVersion, held.Metadata.ResourceVersion) ? item : held);
    }
}

/// <summary>The watch's decisions, apart from its I/O.</summary>
public static class WatchBackoff
{
    public static readonly TimeSpan First = TimeSpan.FromMilliseconds(200), Longest = TimeSpan.FromSeconds(30);

    public static TimeSpan Next(TimeSpan pause) => pause * 2 < Longest ? pause * 2 : Longest;

    /// <summary>The server no longer has the version the watch asked for: only a new list helps.</summary>
    public static bool Expired(Exception? e) => e switch
    {
        KubernetesException k => k.Status?.Code == 410,
        HttpOperationException h => h.Response?.StatusCode == HttpStatusCode.Gone,
        _ => false,
    };

    /// <summary>A watch the server ended before any event (its timeout on a quiet collection): the client reports it as an
    /// unexpected end of stream.</summary>
    public static bool EndedQuietly(Exception e) => e is HttpRequestException { InnerException: EndOfStreamException };

    /// <summary>Resource versions are opaque to clients, but etcd's are increasing integers: compared as such when both
    /// are, else the event wins.</summary>
    public static bool Newer(string? candidate, string? held) =>
        !ulong.TryParse(candidate, out var c) || !ulong.TryParse(held, out var h) || c >= h;
}
