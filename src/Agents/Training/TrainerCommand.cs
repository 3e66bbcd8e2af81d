using System.Globalization;
using System.Text.RegularExpressions;
using EventMlOps.Agents.Hosting;
using EventMlOps.Contracts.Training;

namespace EventMlOps.Agents.Training;

/// <summary>A work order the agent cannot turn into a trainer invocation; reported as the run's failure.</summary>
public sealed class InvalidTrainingOrder(string message) : Exception(message);

public sealed record TrainerInvocation(string Command, IReadOnlyList<string> Args);

/// <summary>The trainer's command line for a work order (pure):
/// <c>[dotnet emo-train.dll | trainer] &lt;kind&gt; (--data &lt;uri&gt; --data-sha256 &lt;hex&gt; | --generate --&lt;name&gt; &lt;value&gt;…)
/// --out out --publish --&lt;hyperparameter&gt; &lt;value&gt;… --device cpu|cuda</c> (see <see cref="TrainerProtocol"/>).</summary>
public static class TrainerCommand
{
    public const string GeneratorScheme = "generate";

    /// <summary>The trainer's output folder, in its working folder.</summary>
    public const string OutputFolder = "out";

    /// <summary>Options the agent sets itself: neither a hyperparameter nor a generator parameter may take them.</summary>
    private static readonly HashSet<string> Reserved = new(
        [TrainerProtocol.Data, TrainerProtocol.DataSha256, "data_sha256", "generate", TrainerProtocol.Out, TrainerProtocol.Publish, TrainerProtocol.Device],
        StringComparer.OrdinalIgnoreCase);

    private static readonly Regex Name = new("^[A-Za-z][A-Za-z0-9_.-]{0,63}\\z", RegexOptions.CultureInvariant);
    private static readonly Regex Kind = new("^[a-z][a-z0-9-]{0,63}\\z", RegexOptions.CultureInvariant);

    /// <summary>For a <c>generate://&lt;trainer&gt;?name=value&amp;…</c> dataset, its parameters in order (the trainer makes
    /// the data; the dataset's sha256 identifies that generator spec); null for a dataset stored as a file.</summary>
    public static IReadOnlyList<KeyValuePair<string, string>>? Generator(LaunchTraining order)
    {
        if (!order.DatasetUri.StartsWith(GeneratorScheme + "://", StringComparison.OrdinalIgnoreCase)) return null;
        var rest = order.DatasetUri[(GeneratorScheme.Length + 3)..];
        var query = rest.IndexOf('?');
        var target = (query < 0 ? rest : rest[..query]).TrimEnd('/');
        if (!string.Equals(target, order.TrainerKind, StringComparison.OrdinalIgnoreCase))
            throw new InvalidTrainingOrder($"dataset {order.DatasetUri} is generated for '{target}', not for the '{order.TrainerKind}' trainer");
        var parameters = new List<KeyValuePair<string, string>>();
        foreach (var pair in query < 0 ? [] : rest[(query + 1)..].Split('&', StringSplitOptions.RemoveEmptyEntries))
        {
            var eq = pair.IndexOf('=');
            var name = Uri.UnescapeDataString(eq < 0 ? pair : pair[..eq]);
            var value = eq < 0 ? "" : Uri.UnescapeDataString(pair[(eq + 1)..]);
            if (!Name.IsMatch(name) || Reserved.Contains(name) || value.Length == 0)
                throw new InvalidTrainingOrder($"dataset {order.DatasetUri}: '{pair}' is not a generator parameter (name=value, name not one of {string.Join(", ", Reserved)})");
            parameters.Add(new(name, value));
        }
        return parameters;
    }

    /// <param name="trainer">emo-train.dll (run with <paramref name="dotnet"/>) or an executable.</param>
    public static TrainerInvocation Build(LaunchTraining order, string trainer, string dotnet)
    {
        if (!Kind.IsMatch(order.TrainerKind ?? ""))
            throw new InvalidTrainingOrder($"trainer kind '{order.TrainerKind}' is not a trainer name");
        var hyperparameters = order.Hyperparameters ?? new Dictionary<string, double>();
        foreach (var (name, value) in hyperparameters)
        {
            if (!Name.IsMatch(name) || Reserved.Contains(name))
                throw new InvalidTrainingOrder($"hyperparameter '{name}' cannot be passed as an option (a name of letters, digits, '_', '.', '-', not one of {string.Join(", ", Reserved)})");
            if (!double.IsFinite(value))
                throw new InvalidTrainingOrder($"hyperparameter '{name}' is {value}");
        }
        var options = order.Options ?? new Dictionary<string, string>();
        foreach (var (name, value) in options)
        {
            if (!Name.IsMatch(name) || Reserved.Contains(name) || hyperparameters.ContainsKey(name))
                throw new InvalidTrainingOrder($"option '{name}' cannot be passed (a name of letters, digits, '_', '.', '-', not one of {string.Join(", ", Reserved)}, not a hyperparameter too)");
            // A value is one argument (no shell), and never one that reads as an option of its own.
            if (value is not { Length: > 0 and <= TrainerOption.MaxLength } || value[0] == '-' || value.Any(char.IsControl))
                throw new InvalidTrainingOrder($"option '{name}' has no value the trainer could take as one argument");
        }

        var (command, prefix) = AgentSettings.Command(trainer, dotnet);
        List<string> args = [.. prefix, order.TrainerKind!];
        if (Generator(order) is { } generator)
        {
            args.Add("--generate");
            // A hyperparameter of the same name (e.g. seed) wins: it is the run's explicit choice.
            foreach (var (name, value) in generator.Where(p => !hyperparameters.ContainsKey(p.Key)))
                args.AddRange(["--" + name, value]);
        }
        else
        {
            // The trainer fetches the dataset through the artifact store and uses it only if its content has this sha256.
            args.AddRange(["--" + TrainerProtocol.Data, order.DatasetUri, "--" + TrainerProtocol.DataSha256, order.DatasetSha256]);
        }
        args.AddRange(["--" + TrainerProtocol.Out, OutputFolder, "--" + TrainerProtocol.Publish]);
        foreach (var (name, value) in hyperparameters.OrderBy(h => h.Key, StringComparer.Ordinal))
            args.AddRange(["--" + name, Format(value)]);
        foreach (var (name, value) in options.OrderBy(o => o.Key, StringComparer.Ordinal))
            args.AddRange(["--" + name, value]);
        args.AddRange(["--" + TrainerProtocol.Device, (order.Resources?.Gpus ?? 0) > 0 ? "cuda" : "cpu"]);
        return new TrainerInvocation(command, args);
    }

    /// <summary>Integral values without decimals (epochs 10 → <c>10</c>), others round-trippable (<c>0.001</c>).</summary>
    public static string Format(double value) =>
        value == Math.Floor(value) && Math.Abs(value) < 1e15
            ? ((long)value).ToString(CultureInfo.InvariantCulture)
            : value.ToString("R", CultureInfo.InvariantCulture);
}
