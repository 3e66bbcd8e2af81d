using System.CommandLine;
using EventMlOps.Cli.Registry;
using EventMlOps.Contracts.Views;

namespace EventMlOps.Cli.Lineage;

/// <summary><c>emo lineage &lt;model&gt;@&lt;version&gt;</c> or <c>emo lineage --endpoint &lt;name&gt;</c>, now or <c>--as-of</c> a time or sequence.</summary>
public static class LineageCommand
{
    public static Command Create()
    {
        var version = new Argument<string?>("model@version") { Description = "A model version, e.g. recommender@2, recommender@champion (an alias, as it points now) or recommender@latest", Arity = ArgumentArity.ZeroOrOne };
        var endpoint = new Option<string?>("--endpoint") { Description = "Lineage of what an endpoint serves instead" };
        var asOf = AsOfOption.Create();
        var command = new Command("lineage", "What produced a model version (or what an endpoint serves): dataset → run → version → endpoints")
        {
            version, endpoint, asOf,
        };
        command.SetAction(async (parse, ct) =>
        {
            var ctx = CliContext.From(parse);
            var (v, e, at) = (parse.GetValue(version), parse.GetValue(endpoint), parse.GetValue(asOf));
            if ((v is null) == (e is null))
                throw CliError.Usage("give either <model>@<version> or --endpoint <name>");
            return e is not null
                ? await ctx.ShowAsync<EndpointLineage>(EndpointPath(e, at), l => LineageTree.Write(ctx.Out, l), ct)
                : await ctx.ShowAsync<ModelLineage>(VersionPath(await ModelRef.ResolveAsync(ctx.Api, v!, ct), at), l =>
                {
                    ctx.Out.WriteLine($"lineage of {l.Model}@{l.Version}{(l.AsOf is { } a ? $" as of {a}" : "")}");
                    LineageTree.Write(ctx.Out, l);
                }, ct);
        });
        return command;
    }

    public static string EndpointPath(string endpoint, string? asOf) =>
        ApiClient.Path($"/api/lineage/endpoints/{ApiClient.Segment(endpoint)}", ("asOf", asOf));

    public static string VersionPath(ModelRef version, string? asOf) =>
        ApiClient.Path($"/api/lineage/models/{ApiClient.Segment(version.Model)}/{version.Version}", ("asOf", asOf));
}
