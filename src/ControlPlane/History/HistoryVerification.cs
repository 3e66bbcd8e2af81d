using System.Buffers;
using System.IO.Pipelines;
using System.Runtime.CompilerServices;
using System.Text.Json;
using EventMlOps.ControlPlane.Commanding;

namespace EventMlOps.ControlPlane.History;

/// <summary>A history file refused, naming the line (1 = the header) where it stopped being one, when there is one.</summary>
public sealed class HistoryRefused(string reason, int? line = null, int status = 422) : Exception(line is null ? reason : $"line {line}: {reason}")
{
    public int? Line { get; } = line;
    public int Status { get; } = status;
}

/// <summary>One event line, as its file holds it: the data and headers are the JSON text of the line.</summary>
public sealed record HistoryEvent(
    long Sequence, Guid Id, string Stream, string? StreamType, long Version, string Type, DateTimeOffset Timestamp, string? Actor,
    string? CorrelationId, string? CausationId, string? Headers, string Data);

/// <summary>A stream of a verified history: its type, last version, first and last event's time and last sequence.</summary>
public sealed record HistoryStream(string Key, string? Type, long Version, DateTimeOffset Created, DateTimeOffset Updated, long LastSequence);

/// <summary>A history file that passed <see cref="HistoryVerification.VerifyAsync"/>: <paramref name="Events"/> events up to
/// <paramref name="UntilSequence"/>, chain head <paramref name="Head"/>; <paramref name="HashAtAppendPoint"/> is the chain
/// hash of the event at the sequence asked for (null when the file holds none there).</summary>
public sealed record VerifiedHistory(
    long Events, long UntilSequence, string Head, string Product, string? HashAtAppendPoint, IReadOnlyCollection<HistoryStream> Streams);

/// <summary>Reads a history file (<see cref="HistoryFormat"/>) and checks all of it: every line's hash against its content,
/// every event line's <c>prev</c> against the line before, sequences ascending, every stream's versions 1, 2, 3 … with one
/// type, each line's schema version against its type, every event type readable here, and the header's promise of how many
/// events up to which sequence. The first line that breaks any of it is named.</summary>
public static class HistoryVerification
{
    private static readonly JsonDocumentOptions Strict = new() { AllowDuplicateProperties = false, MaxDepth = 64 };

    private static readonly HashSet<string> HeaderMembers = ["format", "product", "schema", "exportedAt", "until", "events", "hash"];

    private static readonly HashSet<string> EventMembers =
    [
        "seq", "id", "stream", "streamType", "version", "type", "schemaVersion", "timestamp", "actor", "correlationId", "causationId",
        "headers", "data", "prev", "hash",
    ];

    /// <param name="readable">The stored type names this store reads (<see cref="EventSchemas.Readable"/>).</param>
    /// <param name="appendPoint">The sequence whose chain hash the answer carries (0 for none).</param>
    public static async Task<VerifiedHistory> VerifyAsync(Stream file, IReadOnlyDictionary<string, string> readable, long appendPoint, CancellationToken ct)
    {
        long promised = 0, until = 0, events = 0, last = 0;
        var product = "";
        var head = HistoryFormat.Genesis;
        string? atAppendPoint = null;
        var streams = new Dictionary<string, HistoryStream>(StringComparer.Ordinal);
        var lines = 0;
        await foreach (var (number, line) in LinesAsync(file, ct))
        {
            lines = number;
            var hash = Sealed(number, line);
            using var doc = Parse(number, line);
            var json = doc.RootElement;
            if (number == 1)
            {
                (product, until, promised) = Header(json);
                continue;
            }
            if (++events > promised)
                throw new HistoryRefused($"the header promises {promised} events, and this is one more", number);
            Members(number, json, EventMembers);
            if (Raw(json, "prev") != head)
                throw new HistoryRefused($"its prev is not the hash of the event line before it: a line was changed, removed or reordered before it", number);
            var e = Event(number, json);
            if (e.Sequence <= last)
                throw new HistoryRefused($"sequence {e.Sequence} does not follow {last}: lines are out of order", number);
            if (!readable.ContainsKey(e.Type))
            {
                var (name, version) = HistoryFormat.SchemaOf(e.Type);
                throw new HistoryRefused($"event type {Guard.Shown(name)} at schema version {version} is unknown to this control plane " +
                                         $"(product {HistoryExport.Product}); a history written by a newer version needs that version", number);
            }
            var stream = streams.GetValueOrDefault(e.Stream);
            if (e.Version != (stream?.Version ?? 0) + 1)
                throw new HistoryRefused($"stream {Guard.Shown(e.Stream)} goes from version {stream?.Version ?? 0} to {e.Version}: " +
                                         "one of its lines is missing or out of order", number);
            if (stream is not null && stream.Type != e.StreamType)
                throw new HistoryRefused($"stream {Guard.Shown(e.Stream)} changes its type", number);
            streams[e.Stream] = new HistoryStream(e.Stream, e.StreamType, e.Version, stream?.Created ?? e.Timestamp, e.Timestamp, e.Sequence);
            last = e.Sequence;
            head = hash;
            if (e.Sequence == appendPoint) atAppendPoint = hash;
        }
        if (lines == 0) throw new HistoryRefused("the file is empty: a history starts with its header line", 1);
        if (events != promised || last != until)
            throw new HistoryRefused($"the file ends after {events} events (sequence {last}), but its header promises {promised} up to sequence {until}: " +
                                     "it was cut", lines + 1);
        return new VerifiedHistory(events, until, head, product, atAppendPoint, streams.Values);
    }

    /// <summary>The events of a file <see cref="VerifyAsync"/> accepted, in order.</summary>
    public static async IAsyncEnumerable<HistoryEvent> EventsAsync(Stream file, [EnumeratorCancellation] CancellationToken ct)
    {
        await foreach (var (number, line) in LinesAsync(file, ct))
        {
            if (number == 1) continue;
            using var doc = Parse(number, line);
            yield return Event(number, doc.RootElement);
        }
    }

    /// <summary>The file's lines, each without its LF; a line longer than <see cref="HistoryFormat.MaxLineBytes"/> or a last
    /// line without its LF (a cut file) is refused.</summary>
    private static async IAsyncEnumerable<(int Number, byte[] Line)> LinesAsync(Stream file, [EnumeratorCancellation] CancellationToken ct)
    {
        file.Position = 0;
        var reader = PipeReader.Create(file, new StreamPipeReaderOptions(bufferSize: 64 * 1024, leaveOpen: true));
        var number = 0;
        while (true)
        {
            var read = await reader.ReadAsync(ct);
            var buffer = read.Buffer;
            while (buffer.PositionOf((byte)'\n') is { } end)
            {
                var line = buffer.Slice(0, end);
                if (line.Length > HistoryFormat.MaxLineBytes)
                    throw new HistoryRefused($"the line is longer than {HistoryFormat.MaxLineBytes / (1024 * 1024)} MiB", number + 1);
                buffer = buffer.Slice(buffer.GetPosition(1, end));
                yield return (++number, line.ToArray());
            }
            if (buffer.Length > HistoryFormat.MaxLineBytes)
                throw new HistoryRefused($"the line is longer than {HistoryFormat.MaxLineBytes / (1024 * 1024)} MiB", number + 1);
            if (read.IsCompleted)
            {
                if (buffer.Length > 0) throw new HistoryRefused("the last line has no line end: the file was cut", number + 1);
                break;
            }
            reader.AdvanceTo(buffer.Start, buffer.End);
        }
        await reader.CompleteAsync();
    }

    /// <summary>The line's hash, checked against its content.</summary>
    private static string Sealed(int number, byte[] line)
    {
        var claimed = HistoryFormat.ClaimedHash(line)
                      ?? throw new HistoryRefused("it does not end with its \"hash\" member (64 lowercase hex characters)", number);
        if (HistoryFormat.ContentHash(line) != claimed)
            throw new HistoryRefused("its content does not match its hash: the line was changed", number);
        return claimed;
    }

    private static JsonDocument Parse(int number, byte[] line)
    {
        try
        {
            var doc = JsonDocument.Parse(line, Strict);
            if (doc.RootElement.ValueKind == JsonValueKind.Object) return doc;
            doc.Dispose();
        }
        catch (JsonException) { }
        throw new HistoryRefused("it is not one JSON object with distinct member names", number);
    }

    private static (string Product, long Until, long Events) Header(JsonElement json)
    {
        // The format first: another format's header has other members.
        if (!json.TryGetProperty("format", out var format) || format.ValueKind != JsonValueKind.String || format.GetString() != HistoryFormat.Version)
            throw new HistoryRefused($"the header's format is not {HistoryFormat.Version}", 1);
        Members(1, json, HeaderMembers);
        var schema = json.GetProperty("schema");
        if (schema.ValueKind != JsonValueKind.Object || schema.EnumerateObject().Any(v => v.Value.ValueKind != JsonValueKind.Number))
            throw new HistoryRefused("its schema must map event type names to schema versions", 1);
        if (!HistoryFormat.TryParseTime(Raw(json, "exportedAt"), out _))
            throw new HistoryRefused($"exportedAt is not a time in the form {HistoryFormat.TimeFormat}", 1);
        return (Text(1, json, "product", 200), Number(1, json, "until", 0), Number(1, json, "events", 0));
    }

    private static HistoryEvent Event(int number, JsonElement json)
    {
        var type = Text(number, json, "type", 200);
        if (!type.All(c => char.IsAsciiLetterLower(c) || char.IsAsciiDigit(c) || c == '_'))
            throw new HistoryRefused("type must be lowercase letters, digits and '_'", number);
        if (Number(number, json, "schemaVersion", 1) != HistoryFormat.SchemaOf(type).Version)
            throw new HistoryRefused($"schemaVersion is not the one its type {Guard.Shown(type)} carries", number);
        if (!Guid.TryParse(Raw(json, "id"), out var id))
            throw new HistoryRefused("id is not a UUID", number);
        if (!HistoryFormat.TryParseTime(Raw(json, "timestamp"), out var timestamp))
            throw new HistoryRefused($"timestamp is not a time in the form {HistoryFormat.TimeFormat}", number);
        var headers = json.GetProperty("headers");
        if (headers.ValueKind is not (JsonValueKind.Object or JsonValueKind.Null))
            throw new HistoryRefused("headers must be an object or null", number);
        var data = json.GetProperty("data");
        if (data.ValueKind != JsonValueKind.Object)
            throw new HistoryRefused("data must be an object", number);
        if (HasNul(data) || HasNul(headers))
            throw new HistoryRefused("data or headers hold a NUL character, which the store cannot keep", number);
        return new HistoryEvent(Number(number, json, "seq", 1), id, Text(number, json, "stream", 500), Optional(number, json, "streamType"),
            Number(number, json, "version", 1), type, timestamp, Optional(number, json, "actor"), Optional(number, json, "correlationId"),
            Optional(number, json, "causationId"), headers.ValueKind == JsonValueKind.Null ? null : headers.GetRawText(), data.GetRawText());
    }

    private static void Members(int number, JsonElement json, HashSet<string> expected)
    {
        var names = json.EnumerateObject().Select(p => p.Name).ToList();
        if (names.Count != expected.Count || names.Any(n => !expected.Contains(n)))
            throw new HistoryRefused($"its members must be exactly {string.Join(", ", expected)}", number);
    }

    private static string Text(int number, JsonElement json, string name, int max) =>
        Optional(number, json, name, max) ?? throw new HistoryRefused($"{name} is required", number);

    private static string? Optional(int number, JsonElement json, string name, int max = 500)
    {
        var value = json.GetProperty(name);
        if (value.ValueKind == JsonValueKind.Null) return null;
        if (value.ValueKind != JsonValueKind.String || value.GetString() is not { Length: > 0 } text || text.Length > max || Inputs.HasControl(text))
            throw new HistoryRefused($"{name} must be text of 1-{max} characters without control characters", number);
        return text;
    }

    private static long Number(int number, JsonElement json, string name, long min) =>
        json.GetProperty(name) is { ValueKind: JsonValueKind.Number } value && value.TryGetInt64(out var n) && n >= min
            ? n
            : throw new HistoryRefused($"{name} must be a whole number ≥ {min}", number);

    private static string? Raw(JsonElement json, string name) =>
        json.GetProperty(name) is { ValueKind: JsonValueKind.String } value ? value.GetString() : null;

    private static bool HasNul(JsonElement e) => e.ValueKind switch
    {
        JsonValueKind.String => e.GetString()!.Contains('\0'),
        JsonValueKind.Object => e.EnumerateObject().Any(p => p.Name.Contains('\0') || HasNul(p.Value)),
        JsonValueKind.Array => e.EnumerateArray().Any(HasNul),
        _ => false,
    };
}
