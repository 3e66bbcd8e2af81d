using System.Text.RegularExpressions;
using System.Xml.Linq;
using EventMlOps.Agents.Kubernetes;
using EventMlOps.Agents.Serving;
using EventMlOps.Agents.Training;
using Microsoft.Extensions.Configuration;

namespace EventMlOps.Agents.Tests.Kubernetes;

/// <summary>The images of deploy/images, read as text (no container engine here): what the Kubernetes runtime assumes of
/// them — the program on PATH by the name it runs, a non-root user of the uid its pods run as, /work as home, port 8080 —
/// and what keeps them releasable: a runtime (never SDK) final stage pinned by tag, stages referred to by name, project
/// paths that exist, one image per program.</summary>
public sealed class ContainerImagesTests
{
    private static readonly string Root = TestHost.RepoRoot();
    private static readonly string Images = Path.Combine(Root, "deploy", "images");

    /// <summary>The deploy contract's images (ghcr.io/eventmlops/&lt;name&gt;) and the project each one publishes.</summary>
    private static readonly Dictionary<string, string> Expected = new()
    {
        ["emo-control-plane"] = "ControlPlane", ["emo-agents"] = "Agents",
        ["emo-serve"] = "Serving", ["emo-serve-gpu"] = "Serving",
        ["emo-train"] = "Training", ["emo-train-cuda"] = "Training",
    };

    /// <summary>Programs of the solution that get no image: the CLI is the developer's launcher and client.</summary>
    private static readonly string[] NotImaged = ["Cli"];

    private static readonly IConfiguration OnKubernetes = new ConfigurationBuilder().AddInMemoryCollection(new Dictionary<string, string?>
    {
        ["Agents:Runtime"] = "kubernetes", ["Artifacts:S3:Bucket"] = "b", ["Agents:ControlPlaneUrl"] = "http://emo-control-plane",
    }).Build();

    public static TheoryData<string> Names() => [.. Expected.Keys];

    [Fact]
    public void Given_the_solution_When_its_programs_are_listed_Then_each_has_its_image_and_each_image_builds_one()
    {
        var programs = Directory.GetFiles(Path.Combine(Root, "src"), "*.csproj", SearchOption.AllDirectories)
            .Where(p => XDocument.Load(p).Root is { } project
                        && ((string?)project.Attribute("Sdk") == "Microsoft.NET.Sdk.Web" || project.Descendants("OutputType").Any(o => o.Value == "Exe")))
            .Select(p => Path.GetFileName(Path.GetDirectoryName(p)!)).Except(NotImaged).Order().ToList();

        Directory.GetFiles(Images, "*.Dockerfile").Select(f => Path.GetFileName(f)[..^".Dockerfile".Length]).Order()
            .ShouldBe(Expected.Keys.Order());
        Expected.Values.Distinct().Order().ShouldBe(programs);
        foreach (var (name, project) in Expected)
            Published(Parse(name)).ShouldBe(project, name);
    }

    [Theory]
    [MemberData(nameof(Names))]
    public void Given_an_image_When_its_final_stage_is_read_Then_it_runs_a_pinned_runtime_image_as_the_pods_user(string name)
    {
        var stages = Parse(name);
        foreach (var stage in stages.Where(s => !stages.Any(o => o.Name == s.Image)))
        {
            Regex.IsMatch(stage.Image, @"^[\w.-]+(/[\w.-]+)+:[\w.-]+$").ShouldBeTrue($"{name}: {stage.Image} is pinned by an explicit tag");
            stage.Image.ShouldNotEndWith(":latest");
        }
        var final = stages[^1];
        final.Image.ShouldNotContain("/dotnet/sdk", customMessage: $"{name}: no SDK in the final image");
        stages[0].Image.ShouldStartWith("mcr.microsoft.com/dotnet/sdk:", customMessage: $"{name}: built with the official SDK image");

        var user = final.Last("USER");
        var uid = user is "$APP_UID" or "${APP_UID}"
            ? final.Image.StartsWith("mcr.microsoft.com/dotnet/", StringComparison.Ordinal) ? "1654" : final.Env("APP_UID")
            : user;
        long.Parse(uid!).ShouldBe(KubernetesOptions.From(OnKubernetes).RunAsUser, $"{name}: USER {user}");
    }

    [Theory]
    [MemberData(nameof(Names))]
    public void Given_an_image_When_its_stages_are_read_Then_copies_name_stages_and_sources_exist(string name)
    {
        var stages = Parse(name);
        for (var i = 0; i < stages.Count; i++)
            foreach (var copy in stages[i].All("COPY"))
            {
                var from = Regex.Match(copy, @"--from=(\S+)");
                if (from.Success)
                {
                    stages.Take(i).Select(s => s.Name).ShouldContain(from.Groups[1].Value, $"{name}: COPY {copy} names an earlier stage");
                    continue;
                }
                foreach (var source in copy.Split(' ', StringSplitOptions.RemoveEmptyEntries).Where(a => !a.StartsWith("--", StringComparison.Ordinal)).SkipLast(1))
                    Path.Exists(Path.Combine(Root, source)).ShouldBeTrue($"{name}: {source} exists in the repository");
            }
    }

    [Theory]
    [MemberData(nameof(Names))]
    public void Given_an_image_When_its_entrypoint_is_read_Then_it_is_the_published_program_on_path_and_servers_answer_the_probes(string name)
    {
        var stages = Parse(name);
        var final = stages[^1];
        var project = Published(stages)!;
        var csproj = XDocument.Load(Path.Combine(Root, "src", project, $"EventMlOps.{project}.csproj"));
        var program = csproj.Descendants("AssemblyName").FirstOrDefault()?.Value ?? $"EventMlOps.{project}";

        final.Last("ENTRYPOINT").ShouldBe($"[\"/app/{program}\"]");
        final.Env("PATH").ShouldStartWith("/app:");
        if (project == "Training") program.ShouldBe(TrainingAgentOptions.From(OnKubernetes).Trainer);
        if (project == "Serving") program.ShouldBe(ServingAgentOptions.From(OnKubernetes).Server);

        var server = csproj.Root!.Attribute("Sdk")!.Value == "Microsoft.NET.Sdk.Web" || project == "Agents";
        if (server)
        {
            var port = KubernetesOptions.From(OnKubernetes).ServingPort;
            final.Last("EXPOSE").ShouldBe($"{port}");
            final.Env("ASPNETCORE_URLS").ShouldBe($"http://0.0.0.0:{port}");
            final.Last("HEALTHCHECK").ShouldNotBeNull($"{name}: a server has a HEALTHCHECK").ShouldContain($"/dev/tcp/127.0.0.1/{port}");
            final.Last("HEALTHCHECK")!.ShouldContain("GET /health/live ");
        }
        else
        {
            final.Last("EXPOSE").ShouldBeNull();
            final.Last("HEALTHCHECK").ShouldBeNull($"{name}: a Job's program has no server to probe");
        }
        // What the runtime runs in them (trainers, model servers) has its home and working folder on the runtime's emptyDir.
        if (project is "Training" or "Serving")
        {
            final.Env("HOME").ShouldBe(KubeObjects.WorkFolder);
            final.Last("WORKDIR").ShouldBe(KubeObjects.WorkFolder);
        }
    }

    private sealed record Stage(string Image, string? Name, List<(string Verb, string Args)> Instructions)
    {
        public IEnumerable<string> All(string verb) => Instructions.Where(i => i.Verb == verb).Select(i => i.Args);
        public string? Last(string verb) => All(verb).LastOrDefault();

        /// <summary>A variable set by ENV in this stage (last value wins; <c>KEY=value</c> pairs, quotes not needed here).</summary>
        public string? Env(string key) => All("ENV").SelectMany(e => Regex.Matches(e, @"(\w+)=(\S*)"))
            .Where(m => m.Groups[1].Value == key).Select(m => m.Groups[2].Value).LastOrDefault();
    }

    /// <summary>The project a build stage publishes (<c>dotnet publish src/&lt;Project&gt;</c>).</summary>
    private static string? Published(List<Stage> stages) => stages.SelectMany(s => s.All("RUN"))
        .Select(r => Regex.Match(r, @"dotnet publish src/(\w+)")).Where(m => m.Success).Select(m => m.Groups[1].Value).SingleOrDefault();

    /// <summary>Dockerfile instructions (continuations joined, comments dropped), grouped into stages.</summary>
    private static List<Stage> Parse(string name)
    {
        var text = File.ReadAllText(Path.Combine(Images, $"{name}.Dockerfile"));
        var lines = Regex.Replace(text, @"\\\r?\n(\s*#.*\r?\n)*", " ").Split('\n').Select(l => l.Trim()).Where(l => l.Length > 0 && !l.StartsWith('#'));
        var stages = new List<Stage>();
        foreach (var line in lines)
        {
            var verb = line.Split(' ', 2)[0].ToUpperInvariant();
            var args = Regex.Replace(line.Length > verb.Length ? line[verb.Length..].Trim() : "", @"\s+", " ");
            if (verb == "FROM")
            {
                var from = Regex.Match(args, @"^(\S+)(?: AS (\S+))?$", RegexOptions.IgnoreCase);
                from.Success.ShouldBeTrue($"{name}: FROM {args}");
                stages.Add(new Stage(from.Groups[1].Value, from.Groups[2].Success ? from.Groups[2].Value : null, []));
            }
            else
            {
                stages.ShouldNotBeEmpty($"{name}: {verb} before the first FROM");
                stages[^1].Instructions.Add((verb, args));
            }
        }
        return stages;
    }
}
