using System.Text;
using System.Text.Json;
using YamlDotNet.Serialization;

namespace EventMlOps.Cli;

/// <summary><c>-o yaml</c>: a writer that passes on what a verb writes as JSON (a pretty document, or JSON Lines) as YAML, one
/// YAML document per JSON document (separated by <c>---</c>), as each completes — so a followed stream stays a stream. Lines
/// that are not JSON (a narrated step such as "[5] olivia …", a bracketed text that does not parse) pass through as written.</summary>
public sealed class YamlOutput(TextWriter inner) : TextWriter
{
    private static readonly ISerializer Yaml = new SerializerBuilder().WithQuotingNecessaryStrings().Build();
    private readonly StringBuilder _line = new(), _document = new();
    private int _documents;

    public override Encoding Encoding => inner.Encoding;

    public override void Write(char value)
    {
        if (value == '\n') Line(_line.ToString());
        else if (value != '\r') _line.Append(value);
    }

    private void Line(string line)
    {
        _line.Clear();
        if (_document.Length == 0)
        {
            // A pretty document opens with a bracket alone on its line; a compact one is whole on its line; any other line is text.
            if (line is "{" or "[") _document.AppendLine(line);
            else if (line is ['{' or '[', ..] && Parsed(line) is { } compact) Emit(compact);
            else inner.WriteLine(line);
            return;
        }
        _document.AppendLine(line);
        if (line is not ("}" or "]")) return;
        var text = _document.ToString();
        _document.Clear();
        if (Parsed(text) is { } document) Emit(document);
        else inner.Write(text); // not JSON after all: as written
    }

    private static JsonDocument? Parsed(string text)
    {
        try
        {
            return JsonDocument.Parse(text);
        }
        catch (JsonException)
        {
            return null;
        }
    }

    private void Emit(JsonDocument json)
    {
        using (json)
        {
            if (_documents++ > 0) inner.WriteLine("---");
            inner.Write(Yaml.Serialize(Plain(json.RootElement)));
        }
        inner.Flush();
    }

    /// <summary>Whatever is still held (a line without its end, an unclosed document) goes out as written.</summary>
    public override void Flush()
    {
        inner.Write(_document.ToString());
        inner.Write(_line.ToString());
        (_document.Length, _line.Length) = (0, 0);
        inner.Flush();
    }

    /// <summary>The JSON value as plain objects YamlDotNet writes: maps in order, lists, numbers as numbers, text as text.</summary>
    private static object? Plain(JsonElement e) => e.ValueKind switch
    {
        JsonValueKind.Object => e.EnumerateObject().ToDictionary(p => p.Name, p => Plain(p.Value)),
        JsonValueKind.Array => e.EnumerateArray().Select(Plain).ToList(),
        JsonValueKind.String => e.GetString(),
        JsonValueKind.Number => e.TryGetInt64(out var n) ? n : e.GetDouble(),
        JsonValueKind.True => true,
        JsonValueKind.False => false,
        _ => null,
    };
}
