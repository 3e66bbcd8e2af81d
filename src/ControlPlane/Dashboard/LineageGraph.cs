using System.Globalization;
using EventMlOps.Contracts.Views;
using static EventMlOps.ControlPlane.Dashboard.Charts;

namespace EventMlOps.ControlPlane.Dashboard;

public sealed record GraphNode(string Id, int Column, string Kind, string Title, IReadOnlyList<string> Lines, string Href);

public sealed record GraphEdge(string From, string To, string Label);

public sealed record PlacedNode(GraphNode Node, double X, double Y, double Height);

public sealed record PlacedEdge(GraphEdge Edge, string Path, double LabelX, double LabelY);

/// <summary>A lineage laid out left to right — datasets, runs, versions, endpoints — from the lineage and impact views as
/// the API answers them (now or as of a moment): nodes in columns, edges as curves with their labels.</summary>
public sealed record LineageGraph(IReadOnlyList<PlacedNode> Nodes, IReadOnlyList<PlacedEdge> Edges, double Width, double Height)
{
    public const double NodeWidth = 230, ColumnGap = 96, Margin = 12, TitleHeight = 26, LineHeight = 17, RowGap = 22;

    public static readonly string[] Columns = ["dataset", "run", "model version", "endpoint"];

    public static LineageGraph Of(EndpointLineage lineage)
    {
        var nodes = new List<GraphNode>();
        var edges = new List<GraphEdge>();
        foreach (var version in lineage.Serving) Add(version, nodes, edges);
        var endpoint = Node(3, "endpoint", lineage.Endpoint, $"endpoint {lineage.Endpoint}", [$"model {lineage.Model}", $"revision {lineage.Revision}",
            .. lineage.Rollout is { } r ? [$"{r.Kind} of v{r.Version} in progress"] : Array.Empty<string>()], $"/endpoints/{Uri.EscapeDataString(lineage.Endpoint)}");
        nodes.Add(endpoint);
        foreach (var split in lineage.Traffic)
            edges.Add(new GraphEdge(VersionId(lineage.Model, split.Version), endpoint.Id, $"{split.Weight} % traffic"));
        return Layout(nodes, edges);
    }

    public static LineageGraph Of(ModelLineage lineage)
    {
        var nodes = new List<GraphNode>();
        var edges = new List<GraphEdge>();
        Add(lineage, nodes, edges);
        foreach (var serving in lineage.Endpoints.GroupBy(e => e.Endpoint).Select(g => g.OrderBy(e => e.From).Last()))
        {
            nodes.Add(Node(3, "endpoint", serving.Endpoint, $"endpoint {serving.Endpoint}", [$"since {Time(serving.From)}",
                serving.To is { } to ? $"until {Time(to)}" : "serving now"], $"/endpoints/{Uri.EscapeDataString(serving.Endpoint)}"));
            edges.Add(new GraphEdge(VersionId(lineage.Model, lineage.Version), "endpoint:" + serving.Endpoint,
                serving.To is null ? $"{serving.Weight} % traffic" : "served"));
        }
        return Layout(nodes, edges);
    }

    /// <summary>Everything that descends from a dataset's content.</summary>
    public static LineageGraph Of(DatasetImpact impact)
    {
        var dataset = Node(0, "dataset", impact.Sha256, "dataset content", [$"sha256 {Short(impact.Sha256)}", $"registered {impact.Datasets.Count} time(s)"],
            $"/impact?dataset={impact.Sha256}");
        var nodes = new List<GraphNode> { dataset };
        var edges = new List<GraphEdge>();
        foreach (var run in impact.Runs)
        {
            nodes.Add(Node(1, "run", run.ToString("N"), $"run {run.ToString("N")[..8]}", [], $"/runs/{run:N}"));
            edges.Add(new GraphEdge(dataset.Id, "run:" + run.ToString("N"), "trained on"));
        }
        foreach (var v in impact.Versions)
        {
            nodes.Add(Node(2, "model version", $"{v.Model}@{v.Version}", $"{v.Model}@{v.Version}", [$"stage {v.Stage}"], ModelHref(v.Model, v.Version)));
            edges.Add(new GraphEdge("run:" + v.RunId.ToString("N"), VersionId(v.Model, v.Version), "registered"));
            foreach (var endpoint in v.Endpoints)
                edges.Add(new GraphEdge(VersionId(v.Model, v.Version), "endpoint:" + endpoint, "served"));
        }
        foreach (var endpoint in impact.Endpoints)
            nodes.Add(Node(3, "endpoint", endpoint, $"endpoint {endpoint}", [], $"/endpoints/{Uri.EscapeDataString(endpoint)}"));
        return Layout(nodes, edges);
    }

    /// <summary>A version with the run and dataset it came from (each once, however many versions share them).</summary>
    private static void Add(ModelLineage v, List<GraphNode> nodes, List<GraphEdge> edges)
    {
        var approvals = v.Approvals.Count == 0 ? "not approved" : "approved by " + string.Join(", ", v.Approvals.Select(a => a.By));
        nodes.Add(Node(2, "model version", $"{v.Model}@{v.Version}", $"{v.Model}@{v.Version}",
            [$"stage {v.Stage}" + (v.Aliases.Count == 0 ? "" : $" · {string.Join(", ", v.Aliases)}"), $"sha256 {Short(v.ArtifactSha256)}", approvals],
            ModelHref(v.Model, v.Version)));
        if (v.Run is { } run)
        {
            nodes.Add(Node(1, "run", run.RunId.ToString("N"), $"run {run.RunId.ToString("N")[..8]}", [$"{run.TrainerKind} · {run.Status}",
                .. (run.Metrics ?? new Dictionary<string, double>()).OrderBy(m => m.Key, StringComparer.Ordinal).Take(2)
                    .Select(m => $"{m.Key} = {Value(m.Value)}"),
                $"by {run.RequestedBy}"], $"/runs/{run.RunId:N}"));
            edges.Add(new GraphEdge("run:" + run.RunId.ToString("N"), VersionId(v.Model, v.Version), "registered"));
            if (v.Dataset is { } d)
                edges.Add(new GraphEdge("dataset:" + d.Sha256, "run:" + run.RunId.ToString("N"), "trained on"));
        }
        if (v.Dataset is { } dataset)
            nodes.Add(Node(0, "dataset", dataset.Sha256, $"dataset {dataset.Name}", [$"sha256 {Short(dataset.Sha256)}",
                $"{dataset.Format}, {dataset.RowCount.ToString("N0", CultureInfo.InvariantCulture)} rows", $"by {dataset.RegisteredBy}"],
                $"/impact?dataset={dataset.Sha256}"));
    }

    private static string VersionId(string model, int version) => $"model version:{model}@{version}";

    private static string ModelHref(string model, int version) => $"/models/{Uri.EscapeDataString(model)}#v{version}";

    private static GraphNode Node(int column, string kind, string key, string title, IReadOnlyList<string> lines, string href) =>
        new($"{kind}:{key}", column, kind, Clip(title), [.. lines.Select(Clip)], href);

    /// <summary>Node text fits its box: long names and reasons are cut.</summary>
    private static string Clip(string text) => text.Length <= 32 ? text : text[..31] + "…";

    public static LineageGraph Layout(IEnumerable<GraphNode> nodes, IEnumerable<GraphEdge> edges)
    {
        var placed = new Dictionary<string, PlacedNode>();
        var heights = new double[Columns.Length];
        foreach (var node in nodes.DistinctBy(n => n.Id))
        {
            var height = TitleHeight + node.Lines.Count * LineHeight + 8;
            placed[node.Id] = new PlacedNode(node, Margin + node.Column * (NodeWidth + ColumnGap), Margin + heights[node.Column], height);
            heights[node.Column] += height + RowGap;
        }
        var laidEdges = edges.Distinct()
            .Where(e => placed.ContainsKey(e.From) && placed.ContainsKey(e.To))
            .Select(e =>
            {
                var (from, to) = (placed[e.From], placed[e.To]);
                var (x1, y1, x2, y2) = (from.X + NodeWidth, from.Y + from.Height / 2, to.X, to.Y + to.Height / 2);
                var mid = (x1 + x2) / 2;
                return new PlacedEdge(e, $"M{F(x1)} {F(y1)} C{F(mid)} {F(y1)} {F(mid)} {F(y2)} {F(x2)} {F(y2)}", mid, (y1 + y2) / 2 - 5);
            }).ToList();
        return new LineageGraph([.. placed.Values], laidEdges, 2 * Margin + Columns.Length * NodeWidth + (Columns.Length - 1) * ColumnGap,
            Math.Max(80, heights.Max() - RowGap + 2 * Margin));
    }
}
