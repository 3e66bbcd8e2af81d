using System.Buffers;
using System.Globalization;
using System.Security.Cryptography;
using System.Text;
using System.Text.Json;

namespace EventMlOps.ControlPlane.History;

/// <summary>The history file (NDJSON, UTF-8, every line ended by LF): a header line, then one line per event in global
/// sequence order. Every line is a JSON object whose last member is <c>"hash"</c>: the lowercase hex sha256 of the line's
/// <em>content</em>, its exact bytes with that trailing <c>,"hash":"…"</c> member cut off (the object closed right after
/// the member before it). Event lines carry <c>"prev"</c>, the previous event line's hash (64 zeros for the first), so
/// each event line's hash covers every event before it: the chain. The header seals only itself: the chain hash at a
/// sequence depends on the events up to it alone, so every export of one history agrees on it (what an append or a
/// restore names). The header promises the last sequence and the number of event lines, so a cut file is refused too.</summary>
public static class HistoryFormat
{
    public const string Version = "emo-history/1";
    public const string MediaType = "application/x-ndjson";
    public static readonly string Genesis = new('0', 64);

    /// <summary>A line longer than this is refused rather than read into memory.</summary>
    public const int MaxLineBytes = 8 * 1024 * 1024;

    private static readonly byte[] HashMember = ",\"hash\":\""u8.ToArray();
    private static readonly int SealLength = HashMember.Length + 64 + 2; // ,"hash":" + 64 hex + "}

    /// <summary>Timestamps as PostgreSQL keeps them: UTC, microseconds.</summary>
    public const string TimeFormat = "yyyy-MM-dd'T'HH:mm:ss.ffffff'Z'";

    public static string Time(DateTimeOffset t) => t.UtcDateTime.ToString(TimeFormat, CultureInfo.InvariantCulture);

    public static bool TryParseTime(string? text, out DateTimeOffset time) =>
        DateTimeOffset.TryParseExact(text, TimeFormat, CultureInfo.InvariantCulture, DateTimeStyles.AssumeUniversal | DateTimeStyles.AdjustToUniversal, out time);

    /// <summary>Writes one line: the object <paramref name="members"/> writes, sealed with its hash. Answers the hash.</summary>
    public static async Task<string> WriteLineAsync(Stream output, Action<Utf8JsonWriter> members, CancellationToken ct)
    {
        var content = new ArrayBufferWriter<byte>(512);
        await using (var json = new Utf8JsonWriter(content))
        {
            json.WriteStartObject();
            members(json);
            json.WriteEndObject();
        }
        var hash = Hash(content.WrittenSpan);
        await output.WriteAsync(content.WrittenMemory[..^1], ct);
        await output.WriteAsync(Encoding.ASCII.GetBytes($",\"hash\":\"{hash}\"}}\n"), ct);
        return hash;
    }

    /// <summary>The hash a line claims, or null when the line does not end with a well-formed hash member.</summary>
    public static string? ClaimedHash(ReadOnlySpan<byte> line)
    {
        if (line.Length < SealLength + 2 || !line[^SealLength..].StartsWith(HashMember) || !line.EndsWith("\"}"u8)) return null;
        var hex = line[^(64 + 2)..^2];
        foreach (var b in hex)
            if (!char.IsAsciiHexDigitLower((char)b)) return null;
        return Encoding.ASCII.GetString(hex);
    }

    /// <summary>The hash of a line's content: the line without its hash member, closed.</summary>
    public static string ContentHash(ReadOnlySpan<byte> line)
    {
        var content = new byte[line.Length - SealLength + 1];
        line[..^SealLength].CopyTo(content);
        content[^1] = (byte)'}';
        return Hash(content);
    }

    /// <summary>The schema version an event type name carries: Marten's <c>MapEventTypeWithSchemaVersion</c> names version
    /// n ≥ 2 <c>{name}_v{n}</c>; a name without that suffix is version 1.</summary>
    public static (string Name, int Version) SchemaOf(string typeName)
    {
        var at = typeName.LastIndexOf("_v", StringComparison.Ordinal);
        return at > 0 && int.TryParse(typeName.AsSpan(at + 2), NumberStyles.None, CultureInfo.InvariantCulture, out var v) && v >= 2
            ? (typeName[..at], v)
            : (typeName, 1);
    }

    private static string Hash(ReadOnlySpan<byte> bytes) => Convert.ToHexStringLower(SHA256.HashData(bytes));
}
