using System.Globalization;
using System.Text;
using System.Text.Encodings.Web;
using System.Text.Json;
using EventMlOps.Contracts.Training;

namespace EventMlOps.Training.Running;

/// <summary>Final and per-epoch metrics by plain name (<c>hr@10</c>, <c>loss</c>), in the order they were added.</summary>
public sealed class Metrics : OrderedDictionary<string, double>
{
    public Metrics() : base(StringComparer.Ordinal) { }

    /// <summary>These metrics without the wall-clock times (<see cref="TrainerProtocol.IsWallClock"/>): what the same data,
    /// code and seed always give.</summary>
    public IEnumerable<KeyValuePair<string, double>> WithoutWallClock() => this.Where(m => !TrainerProtocol.IsWallClock(m.Key));
}

/// <summary>Parameters as written to params.json (numbers, strings, booleans, lists of numbers), in order.</summary>
public sealed class Parameters : OrderedDictionary<string, object>
{
    public Parameters() : base(StringComparer.Ordinal) { }

    /// <summary>MLflow params are strings: lists comma-joined, numbers invariant.</summary>
    public IEnumerable<KeyValuePair<string, string>> AsStrings()
        => this.Select(p => KeyValuePair.Create(p.Key, p.Value switch
        {
            int[] list => string.Join(",", list.Select(v => v.ToString(CultureInfo.InvariantCulture))),
            string[] list => string.Join(",", list),
            bool b => b ? "true" : "false",
            IFormattable f => f.ToString(null, CultureInfo.InvariantCulture),
            var other => other.ToString() ?? "",
        }));
}

/// <summary>Compact JSON the way the trainer's readers expect it: '@' and '%' unescaped, metrics rounded to 7
/// significant digits, non-finite numbers left out (JSON has none).</summary>
public static class JsonOut
{
    public static readonly JsonWriterOptions Compact = new() { Encoder = JavaScriptEncoder.UnsafeRelaxedJsonEscaping };
    public static readonly JsonWriterOptions Indented = new() { Encoder = JavaScriptEncoder.UnsafeRelaxedJsonEscaping, Indented = true };

    public static string Write(Action<Utf8JsonWriter> write, bool indented = false)
    {
        using var buffer = new MemoryStream();
        using (var writer = new Utf8JsonWriter(buffer, indented ? Indented : Compact)) write(writer);
        return Encoding.UTF8.GetString(buffer.ToArray());
    }

    public static void WriteFile(string path, Action<Utf8JsonWriter> write) => File.WriteAllText(path, Write(write, indented: true) + "\n");

    public static double Round(double value) => double.Parse(value.ToString("G7", CultureInfo.InvariantCulture), CultureInfo.InvariantCulture);

    public static void WriteMetrics(Utf8JsonWriter writer, IEnumerable<KeyValuePair<string, double>> metrics)
    {
        writer.WriteStartObject();
        foreach (var (name, value) in metrics)
            if (double.IsFinite(value)) writer.WriteNumber(name, Round(value));
        writer.WriteEndObject();
    }

    public static void WriteParameters(Utf8JsonWriter writer, Parameters parameters)
    {
        writer.WriteStartObject();
        foreach (var (name, value) in parameters)
        {
            writer.WritePropertyName(name);
            WriteValue(writer, value);
        }
        writer.WriteEndObject();
    }

    public static void WriteValue(Utf8JsonWriter writer, object? value)
    {
        switch (value)
        {
            case null: writer.WriteNullValue(); break;
            case string s: writer.WriteStringValue(s); break;
            case bool b: writer.WriteBooleanValue(b); break;
            case int i: writer.WriteNumberValue(i); break;
            case long l: writer.WriteNumberValue(l); break;
            case double d when double.IsFinite(d): writer.WriteNumberValue(d); break;
            case float f when float.IsFinite(f): writer.WriteNumberValue(f); break;
            case double or float: writer.WriteNullValue(); break;
            case int[] ints:
                writer.WriteStartArray();
                foreach (var v in ints) writer.WriteNumberValue(v);
                writer.WriteEndArray();
                break;
            case long[] longs:
                writer.WriteStartArray();
                foreach (var v in longs) writer.WriteNumberValue(v);
                writer.WriteEndArray();
                break;
            case double[] doubles:
                writer.WriteStartArray();
                foreach (var v in doubles) WriteValue(writer, v);
                writer.WriteEndArray();
                break;
            case float[] floats:
                writer.WriteStartArray();
                foreach (var v in floats) WriteValue(writer, v);
                writer.WriteEndArray();
                break;
            case string[] strings:
                writer.WriteStartArray();
                foreach (var v in strings) writer.WriteStringValue(v);
                writer.WriteEndArray();
                break;
            default: throw new ArgumentException($"cannot write {value.GetType().Name} as a parameter");
        }
    }
}
