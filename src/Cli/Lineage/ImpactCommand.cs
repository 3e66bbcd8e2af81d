using System.CommandLine;
using EventMlOps.Contracts.Views;

namespace EventMlOps.Cli.Lineage;

/// <summary><c>emo impact --dataset &lt;sha256&gt;</c>: everything that descends from a dataset's content.</summary>
public static class ImpactCommand
{
    public static Command Create()
    {
        var dataset = new Option<string>("--dataset") { Description = "The dataset's sha256", Required = true };
        var command = new Command("impact", "Runs, model versions and endpoints that descend from a dataset's content") { dataset };
        command.SetAction((parse, ct) =>
        {
            var ctx = CliContext.From(parse);
            return ctx.ShowAsync<DatasetImpact>(ApiClient.Path("/api/impact", ("dataset", parse.GetValue(dataset))), i =>
            {
                var w = ctx.Out;
                w.WriteLine($"impact of dataset content {i.Sha256}");
                w.WriteLine($"  registered as  {(i.Datasets.Count == 0 ? "-" : string.Join(", ", i.Datasets))}");
                w.WriteLine($"  runs           {(i.Runs.Count == 0 ? "-" : string.Join(", ", i.Runs))}");
                w.WriteLine($"  endpoints      {(i.Endpoints.Count == 0 ? "-" : string.Join(", ", i.Endpoints))}");
                w.WriteLine("  versions");
                var table = new Table("MODEL", "VERSION", "STAGE", "RUN", "SERVED ON");
                foreach (var v in i.Versions)
                    table.Row(v.Model, v.Version, v.Stage, v.RunId, v.Endpoints.Count == 0 ? "-" : string.Join(",", v.Endpoints));
                table.WriteTo(w, "none", indent: "    ");
            }, ct);
        });
        return command;
    }
}
