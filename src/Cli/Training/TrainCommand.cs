using System.CommandLine;
using System.Globalization;
using EventMlOps.Contracts.Training;
using EventMlOps.ControlPlane.Commanding;

namespace EventMlOps.Cli.Training;

/// <summary><c>emo train</c>: requests a training run; the control plane turns it into a work order for the training agent.</summary>
public static class TrainCommand
{
    public static readonly string[] Trainers = ["recommender", "anomaly"];

    public static Command Create()
    {
        var model = new Option<string>("--model") { Description = "Model name the run trains", Required = true };
        var trainer = new Option<string>("--trainer") { Description = "Trainer kind", Required = true };
        trainer.AcceptOnlyFromAmong(Trainers);
        var dataset = new Option<Guid>("--dataset") { Description = "Dataset id (from `emo datasets list`)", Required = true };
        var param = new Option<string[]>("--param") { Description = "Hyperparameter name=number (repeatable)", Arity = ArgumentArity.ZeroOrMore };
        var gpus = new Option<int>("--gpus") { Description = "GPUs to request", DefaultValueFactory = _ => 0 };
        var cpus = new Option<int>("--cpus") { Description = "CPUs to request", DefaultValueFactory = _ => 1 };
        var memory = new Option<int>("--memory-mb") { Description = "Memory to request (MiB)", DefaultValueFactory = _ => 2048 };
        var code = new Option<string>("--code-version") { Description = "Code version or image the trainer runs", DefaultValueFactory = _ => "dev" };
        var command = new Command("train", "Request a training run") { model, trainer, dataset, param, gpus, cpus, memory, code };
        command.SetAction(async (parse, ct) =>
        {
            var ctx = CliContext.From(parse);
            var (request, accepted) = await RequestAsync(ctx.Api, parse.GetValue(model)!, parse.GetValue(trainer)!, parse.GetValue(dataset),
                Hyperparameters(parse.GetValue(param) ?? []), new TrainingResources(parse.GetValue(cpus), parse.GetValue(memory), parse.GetValue(gpus)),
                parse.GetValue(code)!, ct);
            return ctx.Report(accepted, $"requested run {request.RunId} ({request.TrainerKind} → {request.ModelName})");
        });
        return command;
    }

    public static async Task<(RequestTraining Command, CommandAccepted Accepted)> RequestAsync(ApiClient api, string model, string trainer, Guid dataset,
        IReadOnlyDictionary<string, double> hyperparameters, TrainingResources resources, string codeVersion, CancellationToken ct)
    {
        var command = new RequestTraining(Guid.NewGuid(), Guid.NewGuid(), model, trainer, dataset, hyperparameters, resources, codeVersion);
        return (command, await api.SendAsync("/api/runs", command, ct));
    }

    public static IReadOnlyDictionary<string, double> Hyperparameters(IEnumerable<string> pairs)
    {
        var result = new Dictionary<string, double>();
        foreach (var pair in pairs)
        {
            var at = pair.IndexOf('=');
            if (at < 1 || !double.TryParse(pair[(at + 1)..], NumberStyles.Float, CultureInfo.InvariantCulture, out var value))
                throw CliError.Usage($"--param '{pair}' is not name=number");
            result[pair[..at]] = value;
        }
        return result;
    }
}
