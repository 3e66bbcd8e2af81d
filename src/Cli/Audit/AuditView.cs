using EventMlOps.Contracts.Views;

namespace EventMlOps.Cli.Audit;

/// <summary>How events read in human output: a table for a finished query, one line each while tailing.</summary>
public static class AuditView
{
    /// <summary>The correlation ids (32 characters each) only with <c>-o wide</c>: without them a line fits 120 columns.</summary>
    public static void Table(TextWriter w, IEnumerable<AuditEntry> entries, bool wide = false)
    {
        var table = new Table("SEQ", "TIME", "TYPE", "STREAM", "V", "ACTOR", "CORRELATION").WideOnly("CORRELATION");
        foreach (var e in entries)
            table.Row(e.Sequence, Fmt.Time(e.Timestamp), e.Type, e.Stream, e.Version, e.Actor, e.CorrelationId);
        table.WriteTo(w, "no events", wide: wide);
    }

    public static string Line(AuditEntry e) =>
        $"{e.Sequence,8}  {Fmt.Time(e.Timestamp)}  {e.Type,-30}  {e.Stream,-42}  v{e.Version,-3}  {e.Actor ?? "-",-14}  {e.CorrelationId ?? "-"}";
}
