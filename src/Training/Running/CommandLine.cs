using System.Globalization;
using EventMlOps.Contracts.Training;

namespace EventMlOps.Training.Running;

/// <summary>Bad usage or bad input data: reported on stderr, exit code 2. A message about input data names the file,
/// line and column and the kind of problem, never what was read (it reaches a run's failure reason).</summary>
public sealed class UsageException(string message) : Exception(message);

/// <summary>An option a trainer accepts: <c>--name value</c> (or a flag without value); a numeric one declares its
/// <see cref="Range"/>, which is the only way to read it.</summary>
public sealed record OptionSpec(string Name, string Help, bool IsFlag = false, TrainerParameter? Range = null)
{
    public static OptionSpec Number(TrainerParameter range, string help) => new(range.Name.Replace('_', '-'), help, Range: range);

    /// <summary>A hyperparameter of a built-in trainer kind, with the bounds the control plane checks a run request
    /// against (<see cref="TrainerCatalog.BuiltIn"/>): the two cannot drift apart.</summary>
    public static OptionSpec Hyperparameter(string trainer, string name, string help) =>
        Number(TrainerCatalog.BuiltIn.Kinds[trainer].Single(p => p.Name == TrainerCatalog.Normalize(name)), help);
}

/// <summary>Parsed <c>--name value</c> / <c>--name=value</c> / <c>--param name=value</c> options, checked against the
/// trainer's options. Names compare case-insensitively with <c>_</c> and <c>-</c> alike (<c>--batch_size</c> is
/// <c>--batch-size</c>), so hyperparameter names from a run request pass through unchanged.</summary>
public sealed class CommandLine
{
    private readonly Dictionary<string, OptionSpec> _specs;
    private readonly Dictionary<string, string> _values;
    private readonly HashSet<string> _flags;

    private CommandLine(Dictionary<string, OptionSpec> specs, Dictionary<string, string> values, HashSet<string> flags) =>
        (_specs, _values, _flags) = (specs, values, flags);

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
        return new CommandLine(known, values, flags);
    }

    public bool Flag(string name) => _flags.Contains(Normalise(name));

    public string? String(string name) => _values.GetValueOrDefault(Normalise(name));

    /// <summary>A whole-number option within its spec's range.</summary>
    public int Int(string name, int fallback) =>
        RangeOf(name).Whole ? checked((int)Number(name, fallback)) : throw new InvalidOperationException($"--{Normalise(name)} is not a whole number");

    /// <summary>A numeric option within its spec's range.</summary>
    public double Double(string name, double fallback) => Number(name, fallback);

    private double Number(string name, double fallback)
    {
        var range = RangeOf(name);
        if (String(name) is not { } text) return fallback;
        if (!double.TryParse(text, NumberStyles.Float, CultureInfo.InvariantCulture, out var v) || !range.Accepts(v))
            throw new UsageException($"--{Normalise(name)} must be {range.Range}, not '{text}'");
        return v;
    }

    // A numeric option without a declared range is a trainer's bug, not bad usage.
    private TrainerParameter RangeOf(string name) =>
        _specs.GetValueOrDefault(Normalise(name))?.Range ?? throw new InvalidOperationException($"--{Normalise(name)} declares no range");

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

    /// <summary>A moment, ISO 8601 (a time without an offset is UTC), as Unix milliseconds.</summary>
    public long? Time(string name)
    {
        if (String(name) is not { } text) return null;
        return DateTimeOffset.TryParse(text, CultureInfo.InvariantCulture, DateTimeStyles.AssumeUniversal, out var at)
            ? at.ToUnixTimeMilliseconds()
            : throw new UsageException($"--{Normalise(name)} must be a time (ISO 8601, e.g. 2026-01-31T00:00:00Z), not '{(text.Length > 40 ? text[..40] + "…" : text)}'");
    }

    public string[] StringList(string name)
        => String(name) is { } text ? text.Split(',', StringSplitOptions.TrimEntries | StringSplitOptions.RemoveEmptyEntries) : [];

    public static string Usage(string trainer, string synopsis, IReadOnlyList<OptionSpec> specs)
        => $"usage: emo-train {trainer} {synopsis}\n\noptions:\n"
           + string.Join("\n", specs.Select(s => $"  --{s.Name,-22} {s.Help}"))
           + "\n  --param name=value       any option above given as name=value\n";

    private static string Normalise(string name) => name.Trim().ToLowerInvariant().Replace('_', '-');
}
