using System.CommandLine;
using EventMlOps.Contracts.Registry;
using EventMlOps.Contracts.Views;

namespace EventMlOps.Cli.Registry;

/// <summary><c>emo versions register|approve|alias|stage</c>: the registry's commands on model versions.</summary>
public static class VersionsCommand
{
    public static Command Create() => new("versions", "Register, approve, alias and stage model versions") { Register(), Approve(), Alias(), Stage() };

    /// <summary>Registers a succeeded run's artifact as the model's next version and answers which version it became.</summary>
    public static async Task<(ModelRef Version, CommandAccepted Accepted)> RegisterAsync(ApiClient api, string model, Guid runId, CancellationToken ct)
    {
        var accepted = await api.SendAsync("/api/models/versions", new RegisterModelVersion(Guid.NewGuid(), model, runId), ct);
        return (ModelRef.FromStream(accepted.Stream), accepted);
    }

    public static Task<CommandAccepted> ApproveAsync(ApiClient api, ModelRef version, string? comment, CancellationToken ct) =>
        api.SendAsync("/api/models/versions/approve", new ApproveModelVersion(Guid.NewGuid(), version.Model, version.Version, comment), ct);

    public static Task<CommandAccepted> StageAsync(ApiClient api, ModelRef version, ModelStage stage, CancellationToken ct) =>
        api.SendAsync("/api/models/versions/stage", new TransitionModelStage(Guid.NewGuid(), version.Model, version.Version, stage), ct);

    private static Command Register()
    {
        var model = new Argument<string>("model") { Description = "Model name" };
        var run = new Option<Guid>("--run") { Description = "The succeeded run whose artifact becomes the version", Required = true };
        var command = new Command("register", "Register a succeeded run as the model's next version") { model, run };
        command.SetAction(async (parse, ct) =>
        {
            var ctx = CliContext.From(parse);
            var (version, accepted) = await RegisterAsync(ctx.Api, parse.GetValue(model)!, parse.GetValue(run), ct);
            return ctx.Report(accepted, $"registered {version} from run {parse.GetValue(run)}");
        });
        return command;
    }

    private static Command Approve()
    {
        var version = VersionArgument();
        var comment = new Option<string?>("--comment") { Description = "Why it is approved" };
        var command = new Command("approve", "Approve a version (four eyes: not by its registrant)") { version, comment };
        command.SetAction(async (parse, ct) =>
        {
            var ctx = CliContext.From(parse);
            var v = await ModelRef.ResolveAsync(ctx.Api, parse.GetValue(version)!, ct);
            return ctx.Report(await ApproveAsync(ctx.Api, v, parse.GetValue(comment), ct), $"approved {v}");
        });
        return command;
    }

    private static Command Alias()
    {
        var version = VersionArgument();
        var alias = new Argument<string>("alias") { Description = "Alias, e.g. champion (moves from the version that holds it)" };
        var command = new Command("alias", "Point an alias at a version") { version, alias };
        command.SetAction(async (parse, ct) =>
        {
            var ctx = CliContext.From(parse);
            var v = await ModelRef.ResolveAsync(ctx.Api, parse.GetValue(version)!, ct);
            var accepted = await ctx.Api.SendAsync("/api/models/versions/alias", new SetModelAlias(Guid.NewGuid(), v.Model, v.Version, parse.GetValue(alias)!), ct);
            return ctx.Report(accepted, $"alias '{parse.GetValue(alias)}' now names {v}");
        });
        return command;
    }

    private static Command Stage()
    {
        var version = VersionArgument();
        var stage = new Argument<ModelStage>("stage") { Description = "Staging, Production or Archived" };
        var command = new Command("stage", "Move a version to a stage (Production needs a four-eyes approval)") { version, stage };
        command.SetAction(async (parse, ct) =>
        {
            var ctx = CliContext.From(parse);
            var v = await ModelRef.ResolveAsync(ctx.Api, parse.GetValue(version)!, ct);
            var to = parse.GetValue(stage);
            if (to == ModelStage.None) throw CliError.Usage("stage must be Staging, Production or Archived");
            return ctx.Report(await StageAsync(ctx.Api, v, to, ct), $"{v} is now in {to}");
        });
        return command;
    }

    private static Argument<string> VersionArgument() => new("model@version") { Description = "The version, e.g. recommender@2, recommender@champion (an alias) or recommender@latest" };
}
