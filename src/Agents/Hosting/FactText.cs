namespace EventMlOps.Agents.Hosting;

/// <summary>Words for a fact's reason: one line the control plane takes (it refuses control characters, and the fact
/// would be lost), cut to a length without splitting a character.</summary>
public static class FactText
{
    public static string? OneLine(string? words, int max)
    {
        if (string.IsNullOrWhiteSpace(words)) return null;
        var line = string.Concat(words.Trim().Select(c => char.IsControl(c) || c is '\uFFFE' or '\uFFFF' ? ' ' : c));
        if (line.Length <= max) return line;
        var cut = max - 1;
        return line[..(char.IsHighSurrogate(line[cut - 1]) ? cut - 1 : cut)] + "…";
    }
}
