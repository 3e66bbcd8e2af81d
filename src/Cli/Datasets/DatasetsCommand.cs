using System.CommandLine;
using EventMlOps.Contracts.Datasets;
using EventMlOps.Contracts.Views;

namespace EventMlOps.Cli.Datasets;

/// <summary><c>emo datasets register|list|show</c>.</summary>
public static class DatasetsCommand
{
    public static Command Create() => new("datasets", "Register and list content-addressed datasets") { Register(), List(), Show() };

    /// <summary>The dataset a registration answered with: the new one, or the one already holding that content.</summary>
    public static Guid DatasetOf(CommandAccepted accepted) => Guid.ParseExact(accepted.Stream["dataset:".Length..], "N");

    /// <summary>Registers a local file (hashing and counting it here, then storing it in the artifact store, where the
    /// agents may read datasets) or a remote URI (its digest must be given).</summary>
    public static async Task<(RegisterDataset Command, CommandAccepted Accepted)> RegisterAsync(
        CliContext ctx, string source, string name, string? format, string? sha256, long? rows, CancellationToken ct)
    {
        var file = File.Exists(source) ? await DatasetFile.InspectAsync(source, ct) : null;
        if (file is null && !Uri.TryCreate(source, UriKind.Absolute, out _))
            throw CliError.Usage($"'{source}' is neither an existing file nor an absolute URI");
        var digest = sha256 ?? file?.Sha256
            ?? throw CliError.Usage($"'{source}' is not a local file: pass --sha256 (and --rows) for a remote dataset");
        if (file is not null && sha256 is not null && sha256 != file.Sha256)
            throw CliError.Usage($"--sha256 {sha256} does not match the file's content ({file.Sha256})");
        var chosen = format ?? file?.Format ?? "other";
        // Datasets are read only from the artifact store and the configured data roots, never from wherever a path points.
        var uri = file is null ? source : (await ctx.Artifacts.PutAsync(source, ct)).Uri;
        var command = new RegisterDataset(Guid.NewGuid(), Guid.NewGuid(), name, uri, digest, chosen,
            rows ?? file?.Rows ?? 0, file?.Format == chosen ? file.Schema : DatasetFile.SchemaOf(chosen));
        return (command, await ctx.Api.SendAsync("/api/datasets", command, ct));
    }

    private static Command Register()
    {
        var source = new Argument<string>("file-or-uri") { Description = "A local file (hashed and counted here) or the URI of a remote one" };
        var name = new Option<string>("--name") { Description = "Dataset name (lowercase letters, digits, . _ -)", Required = true };
        var format = new Option<string?>("--format") { Description = "Format (default: guessed from the file)" };
        format.AcceptOnlyFromAmong([.. DatasetFile.Formats]);
        var sha = new Option<string?>("--sha256") { Description = "Content digest (required for a remote URI; checked for a file)" };
        var rows = new Option<long?>("--rows") { Description = "Row count (default: the file's line count)" };
        var command = new Command("register", "Register a dataset by its content address") { source, name, format, sha, rows };
        command.SetAction(async (parse, ct) =>
        {
            var ctx = CliContext.From(parse);
            var (c, accepted) = await RegisterAsync(ctx, parse.GetValue(source)!, parse.GetValue(name)!, parse.GetValue(format),
                parse.GetValue(sha), parse.GetValue(rows), ct);
            return ctx.Report(accepted, accepted.Appended > 0
                ? $"registered dataset {c.Name} as {c.DatasetId} ({c.Format}, {c.RowCount} rows, sha256 {c.Sha256})"
                : $"this content (sha256 {c.Sha256}) is already dataset {DatasetOf(accepted)}");
        });
        return command;
    }

    private static Command List()
    {
        var command = new Command("list", "List registered datasets, newest first");
        command.SetAction((parse, ct) =>
        {
            var ctx = CliContext.From(parse);
            return ctx.ShowAsync<List<DatasetView>>("/api/datasets", datasets =>
            {
                var table = new Table("ID", "NAME", "FORMAT", "ROWS", "SHA256", "REGISTERED", "BY").WideOnly("FORMAT");
                foreach (var d in datasets)
                    table.Row(d.DatasetId, d.Name, d.Format, d.RowCount, ctx.Wide ? d.Sha256 : Fmt.ShortSha(d.Sha256), Fmt.Time(d.RegisteredAt), d.RegisteredBy);
                table.WriteTo(ctx.Out, "no datasets registered yet", wide: ctx.Wide);
            }, ct);
        });
        return command;
    }

    private static Command Show()
    {
        var id = new Argument<Guid>("id") { Description = "Dataset id" };
        var asOf = AsOfOption.Create();
        var command = new Command("show", "Show one dataset") { id, asOf };
        command.SetAction((parse, ct) =>
        {
            var ctx = CliContext.From(parse);
            return ctx.ShowAsync<DatasetView>(ApiClient.Path($"/api/datasets/{parse.GetValue(id)}", ("asOf", parse.GetValue(asOf))), d =>
            {
                ctx.Out.WriteLine($"dataset {d.Name} ({d.DatasetId})");
                ctx.Out.WriteLine($"  uri        {d.Uri}");
                ctx.Out.WriteLine($"  sha256     {d.Sha256}");
                ctx.Out.WriteLine($"  format     {d.Format}, {d.RowCount} rows");
                ctx.Out.WriteLine($"  schema     {(d.Schema.Count == 0 ? "-" : string.Join(", ", d.Schema.Select(c => $"{c.Name}:{c.Type}")))}");
                ctx.Out.WriteLine($"  registered {Fmt.Time(d.RegisteredAt)} by {d.RegisteredBy}");
            }, ct);
        });
        return command;
    }
}
