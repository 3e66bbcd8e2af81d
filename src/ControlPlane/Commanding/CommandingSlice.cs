using Marten;

namespace EventMlOps.ControlPlane.Commanding;

/// <summary>The command gate's documents: idempotency records and refusals (their routes: <see cref="CommandOutcomes"/>).</summary>
public static class CommandingSlice
{
    public static void ConfigureCommanding(this StoreOptions o)
    {
        o.Schema.For<HandledCommand>();
        o.Schema.For<RefusedCommand>();
    }
}
