using System.Text;
using System.Text.Json;
using YamlDotNet.Serialization;

namespace EventMlOps.Cli;

/// <summary><c>-o yaml</c>: a writer that passes on what a verb writes as JSON (a pretty document, or JSON Lines) as YAML, one
/// YAML document per JSON document (separated by <c>---</c>), as each completes — so a followed stream stays a stream. Lines
/// that are not JSON pass through.</summary>
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
        if (_document.Length == 0 && !line.StartsWith('{') && !line.StartsWith('['))
        {
            inner.WriteLine(line);
            return;
        }
        _document.AppendLine(line);
        // A document ends where its top-level value closes: a compact line, or a pretty one's closing bracket at column 0.
        if (line is not ("}" or "]") && !(_document.Length == line.Length + Environment.NewLine.Length && (line.EndsWith('}') || line.EndsWith(']'))))
            return;
        using var json = JsonDocument.Parse(_document.ToString());
        _document.Clear();
        if (_documents++ > 0) inner.WriteLine("---");
        inner.Write(Yaml.Serialize(Plain(json.RootElement)));
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

    public override void Flush() => inner.Flush();
}
