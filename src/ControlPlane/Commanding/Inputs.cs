using System.Collections;
using System.Reflection;

namespace EventMlOps.ControlPlane.Commanding;

/// <summary>The shape every command must have before any rule looks at it, checked once at the edge for HTTP and bus
/// alike: no control characters in any text (a NUL reaching PostgreSQL fails the statement and has desynchronised pooled
/// connections), no text over <see cref="MaxText"/> characters, no list or map over <see cref="MaxItems"/> entries.
/// Decisions add the tighter limits of each field (names 63, URIs 2 KiB). Errors name the field, never echo the value.</summary>
public static class Inputs
{
    public const int MaxText = 4096, MaxItems = 1000;
    private const int MaxDepth = 6;

    public static void Check(object command) => Walk(command, "", 0);

    /// <summary>Text may hold tabs and line breaks (a failure reason with log lines), nothing else below U+0020 or DEL.</summary>
    public static bool HasControl(string text) => text.Any(c => (char.IsControl(c) && c is not ('\t' or '\n' or '\r')) || c is '\uFFFE' or '\uFFFF');

    private static void Walk(object? value, string path, int depth)
    {
        switch (value)
        {
            case null or bool or Guid or DateTimeOffset or DateTime or Enum:
                return;
            case string text:
                if (text.Length > MaxText) throw new InvalidField(Field(path), $"is {text.Length} characters long; at most {MaxText} are accepted");
                if (HasControl(text)) throw new InvalidField(Field(path), "contains control characters");
                return;
            case double or float or decimal or int or long or short or byte:
                return;
            case IDictionary map:
                if (map.Count > MaxItems) throw new InvalidField(Field(path), $"has {map.Count} entries; at most {MaxItems} are accepted");
                foreach (DictionaryEntry entry in map)
                {
                    var key = entry.Key as string ?? "";
                    Walk(key, path, depth + 1);
                    Walk(entry.Value, $"{path}.{(key.Length <= 40 && !HasControl(key) ? key : "?")}", depth + 1);
                }
                return;
            case IEnumerable items:
                var i = 0;
                foreach (var item in items)
                {
                    if (i == MaxItems) throw new InvalidField(Field(path), $"has more than {MaxItems} items");
                    Walk(item, $"{path}[{i++}]", depth + 1);
                }
                return;
        }
        if (depth > MaxDepth) throw new InvalidField(Field(path), "is nested too deeply");
        foreach (var property in value.GetType().GetProperties(BindingFlags.Public | BindingFlags.Instance))
            if (property.GetIndexParameters().Length == 0)
                Walk(property.GetValue(value), path.Length == 0 ? Camel(property.Name) : $"{path}.{Camel(property.Name)}", depth + 1);
    }

    private static string Field(string path) => path.Length == 0 ? "$" : path;

    private static string Camel(string name) => char.ToLowerInvariant(name[0]) + name[1..];
}
