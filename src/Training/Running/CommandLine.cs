using System.Globalization;

namespace EventMlOps.Training.Running;

/// <summary>Bad usage or bad input data: reported on stderr, exit code 2.</summary>
public sealed class UsageException(string message) : Exception(message);

/// <summary>An option a trainer accepts: <c>--name value</c> (or a flag without value).</summary>
public sealed record OptionSpec(string Name, string Help, bool IsFlag = false);

/// <summary>Parsed <c>--name value</c> / <c>--name=value</c> / <c>--param name=value</c> options, checked against the
/// trainer's options. Names compare case-insensitively with <c>_</c> and <c>-</c> alike (<c>--batch_size</c> is
/// <c>--batch-size</c>), so hyperparameter names from a run request pass through unchanged.</summary>
public sealed class CommandLine
{
    private readonly Dictionary<string, string> _values;
    private readonly HashSet<string> _flags;

    private CommandLine(Dictionary<string, string> values, HashSet<string> flags) => (_values, _flags) = (values, flags);

    public static CommandLine Parse(string trainer, IReadOnlyList<string> args, IReadOnlyList<OptionSpec> specs)
    {
        var known = specs.ToDictionary(s => Normalise(s.Name), StringComparer.Ordinal);
        var values = new Dictionary<string, string>(StringComparer.Ordinal);
        var flags = new HashSet<string>(StringComparer.Ordinal);
        for (var i = 0; i < args.Count; i++)
        {
            var arg = args[i];
            if (!arg.StartsWith("--", StringComparison.Ordinal) || arg.Length == 2)
                throw new UsageException($"unexpected argument '{arg}' (options are --name value; see `emo-train {trainer} --help`)");
            string name;
            string? value = null;
            var eq = arg.IndexOf('=');
            if (eq > 0) (name, value) = (arg[2..eq], arg[(eq + 1)..]);
            else name = arg[2..];
            name = Normalise(name);
            if (name == "param")
            {
                var pair = value ?? (i + 1 < args.Count ? args[++i] : throw new UsageException("--param needs name=value"));
                var split = pair.IndexOf('=');
                if (split <= 0) throw new UsageException($"--param '{pair}' is not name=value");
                (name, value) = (Normalise(pair[..split]), pair[(split + 1)..]);
            }
            if (!known.TryGetValue(name, out var spec))
                throw new UsageException($"unknown option '--{name}' for the {trainer} trainer (see `emo-train {trainer} --help`)");
            if (spec.IsFlag)
            {
                if (value is not null && !bool.TryParse(value, out _)) throw new UsageException($"--{name} is a flag; '{value}' is not true/false");
                if (value is null || bool.Parse(value)) flags.Add(name); else flags.Remove(name);
                continue;
            }
            if (value is null)
            {
                if (i + 1 >= args.Count || args[i + 1].StartsWith("--", StringComparison.Ordinal))
                    throw new UsageException($"--{name} needs a value");
                value = args[++i];
            }
            values[name] = value;
        }
        return new CommandLine(values, flags);
    }

    public bool Flag(string name) => _flags.Contains(Normalise(name));

    public string? String(string name) => _values.GetValueOrDefault(Normalise(name));

    public int Int(string name, int fallback, int min = int.MinValue, int max = int.MaxValue)
    {
        if (String(name) is not { } text) return fallback;
        if (!double.TryParse(text, NumberStyles.Float, CultureInfo.InvariantCulture, out var v) || v != Math.Floor(v) || v < min || v > max)
            throw new UsageException($"--{Normalise(name)} must be a whole number in [{min}, {max}], not '{text}'");
        return (int)v;
    }

    public long Long(string name, long fallback)
    {
        if (String(name) is not { } text) return fallback;
        if (!double.TryParse(text, NumberStyles.Float, CultureInfo.InvariantCulture, out var v) || v != Math.Floor(v) || Math.Abs(v) > 9e15)
            throw new UsageException($"--{Normalise(name)} must be a whole number, not '{text}'");
        return (long)v;
    }

    public double Double(string name, double fallback, double min = double.MinValue, double max = double.MaxValue)
    {
        if (String(name) is not { } text) return fallback;
        if (!double.TryParse(text, NumberStyles.Float, CultureInfo.InvariantCulture, out var v) || !double.IsFinite(v) || v < min || v > max)
            throw new UsageException($"--{Normalise(name)} must be a number in [{min.ToString(CultureInfo.InvariantCulture)}, {max.ToString(CultureInfo.InvariantCulture)}], not '{text}'");
        return v;
    }

    public int[] IntList(string name, int[] fallback, int min = 1)
    {
        if (String(name) is not { } text) return fallback;
        var parts = text.Split(',', StringSplitOptions.TrimEntries | StringSplitOptions.RemoveEmptyEntries);
        var list = new int[parts.Length];
        for (var i = 0; i < parts.Length; i++)
            if (!int.TryParse(parts[i], NumberStyles.Integer, CultureInfo.InvariantCulture, out list[i]) || list[i] < min)
                throw new UsageException($"--{Normalise(name)} must be a comma-separated list of whole numbers ≥ {min}, not '{text}'");
        return list.Length > 0 ? list : throw new UsageException($"--{Normalise(name)} must not be empty");
    }

    public string[] StringList(string name)
        => String(name) is { } text ? text.Split(',', StringSplitOptions.TrimEntries | StringSplitOptions.RemoveEmptyEntries) : [];

    public static string Usage(string trainer, string synopsis, IReadOnlyList<OptionSpec> specs)
        => $"usage: emo-train {trainer} {synopsis}\n\noptions:\n"
           + string.Join("\n", specs.Select(s => $"  --{s.Name,-22} {s.Help}"))
           + "\n  --param name=value       any option above given as name=value\n";

    private static string Normalise(string name) => name.Trim().ToLowerInvariant().Replace('_', '-');
}
