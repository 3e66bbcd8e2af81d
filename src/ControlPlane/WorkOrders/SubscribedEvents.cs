using System.Reflection;
using JasperFx.Events;

namespace EventMlOps.ControlPlane.WorkOrders;

/// <summary>The events the work-orders subscription feeds to Wolverine, in strict order: whatever a slice's
/// subscription handler takes (<c>Handle(IEvent&lt;T&gt; …)</c> on a <c>…Handler</c> class: work orders for the agents,
/// the registration policy), so that a slice adding one needs no entry in a central list.</summary>
public static class SubscribedEvents
{
    public static readonly IReadOnlyList<Type> Types = [.. typeof(SubscribedEvents).Assembly.GetTypes()
        .Where(t => t is { IsAbstract: true, IsSealed: true } && t.Name.EndsWith("Handler", StringComparison.Ordinal))
        .SelectMany(t => t.GetMethods(BindingFlags.Public | BindingFlags.Static))
        .Where(m => m.Name == "Handle")
        .Select(m => m.GetParameters().FirstOrDefault()?.ParameterType)
        .Where(p => p is { IsGenericType: true } && p.GetGenericTypeDefinition() == typeof(IEvent<>))
        .Select(p => p!.GetGenericArguments()[0])
        .Distinct()];
}
