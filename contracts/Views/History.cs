namespace EventMlOps.Contracts.Views;

/// <summary>What an import did (<c>POST /api/history/import</c>): <paramref name="Events"/> events, sequences
/// <paramref name="FromSequence"/>..<paramref name="UntilSequence"/> of a history exported by <paramref name="Product"/>, stored
/// with their own sequences, stream versions, times and metadata. <paramref name="Head"/> is <c>&lt;sequence&gt;:&lt;chain
/// hash&gt;</c> of the last one (what a later <c>--append-after</c> names); <paramref name="Rebuilt"/> the projections rebuilt
/// from them, <paramref name="Subscriptions"/> those set past them (nothing already done is sent to the agents again).</summary>
public sealed record HistoryImported(
    long Events, long FromSequence, long UntilSequence, string Head, string Product, IReadOnlyList<string> Rebuilt, IReadOnlyList<string> Subscriptions);
