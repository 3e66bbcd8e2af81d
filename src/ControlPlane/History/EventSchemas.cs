using JasperFx.Events;
using JasperFx.Events.Projections;
using Marten;
using Marten.Events;

namespace EventMlOps.ControlPlane.History;

/// <summary>The control plane's event types, by the names the store keeps them under: every type its projections apply
/// and its subscriptions take, and those a slice registers only to read old histories (<c>AddEventType</c>). Marten
/// learns event types as they are appended; a store that is to read a history it never wrote learns them here first.</summary>
public static class EventSchemas
{
    /// <summary>Every event type's current schema version, by its name without the version suffix, sorted by name.</summary>
    public static IReadOnlyList<(string Name, int Version)> Current(IDocumentStore store) => [.. Known(store)
        .Select(t => HistoryFormat.SchemaOf(t.EventTypeName))
        .GroupBy(t => t.Name, StringComparer.Ordinal)
        .Select(g => (g.Key, g.Max(t => t.Version)))
        .OrderBy(t => t.Key, StringComparer.Ordinal)];

    /// <summary>The stored type names this control plane can read, each with the CLR type Marten resolves it to
    /// (<c>mt_dotnet_type</c>: this code's, never a file's): every event type's current name and, by the rule of schema
    /// versions, the names of its older versions (<c>{name}</c>, <c>{name}_v2</c> …), which its slice upcasts.</summary>
    public static IReadOnlyDictionary<string, string> Readable(IDocumentStore store)
    {
        var readable = new Dictionary<string, string>(StringComparer.Ordinal);
        foreach (var type in Known(store))
        {
            readable[type.EventTypeName] = type.DotNetTypeName;
            var (name, version) = HistoryFormat.SchemaOf(type.EventTypeName);
            for (var older = 1; older < version; older++)
                readable.TryAdd(older == 1 ? name : $"{name}_v{older}", type.DotNetTypeName);
        }
        return readable;
    }

    private static IEnumerable<IEventType> Known(IDocumentStore store)
    {
        var options = (StoreOptions)store.Options;
        var graph = (EventGraph)options.Events;
        var ours = typeof(EventSchemas).Assembly;
        graph.AddEventTypes(options.Projections.All.OfType<EventFilterable>().SelectMany(p => p.IncludedEventTypes)
            .Concat(options.Projections.AllShards().SelectMany(s => s.Filters.IncludedEventTypes))
            .Where(t => t.Assembly == ours).Distinct());
        return graph.AllKnownEventTypes().Where(t => t.EventType.Assembly == ours);
    }
}
