using System.CommandLine;
using EventMlOps.Agents.Kubernetes;
using EventMlOps.Agents.Serving;
using EventMlOps.Agents.Training;
using EventMlOps.Contracts.Endpoints;
using EventMlOps.Contracts.Training;
using EventMlOps.Contracts.Views;
using k8s;
using k8s.Models;
using Microsoft.Extensions.Configuration;

namespace EventMlOps.Cli.Kube;

/// <summary><c>emo kube render</c>: what the agents' Kubernetes runtime would apply, as YAML, from the same code path the
/// runtime uses — to review, or to <c>kubectl diff -f -</c>. Secret values are never printed.</summary>
public static class KubeCommand
{
    /// <summary>The sample's run id: a fixed one, so that two renders of the sample compare equal.</summary>
    private static readonly Guid SampleRun = new("5a3b1e2c-0000-4000-8000-000000000001");

    private const string DefaultControlPlane = "http://emo-control-plane";

    public static Command Create() => new("kube", "Kubernetes: what Agents:Runtime=kubernetes creates") { Render() };

    private static Command Render()
    {
        var run = new Option<Guid?>("--run") { Description = "A training run's Job (and its Secret, without values)" };
        var endpoint = new Option<string?>("--endpoint") { Description = "An endpoint's Deployment, Service, PodDisruptionBudget and HorizontalPodAutoscaler" };
        var command = new Command("render",
            "Print as YAML what the agents' Kubernetes runtime would apply; without options, a sample: a 1-GPU training Job and a 1..3-replica endpoint")
        {
            run, endpoint,
        };
        command.SetAction(async (parse, ct) =>
        {
            var ctx = CliContext.From(parse);
            // The agents' own settings, as they would read them with Agents:Runtime=kubernetes (the control plane by its
            // in-cluster Service name unless one is configured).
            var config = new ConfigurationBuilder()
                .AddInMemoryCollection(new Dictionary<string, string?> { ["Agents:ControlPlaneUrl"] = DefaultControlPlane })
                .AddConfiguration(ctx.Configuration)
                .AddInMemoryCollection(new Dictionary<string, string?> { ["Agents:Runtime"] = "kubernetes" }).Build();
            var kubernetes = KubernetesOptions.From(config);
            kubernetes = kubernetes with { Namespace = kubernetes.Namespace ?? "eventmlops" };
            var runId = parse.GetValue(run);
            var endpointName = parse.GetValue(endpoint);
            var objects = new List<IKubernetesObject<V1ObjectMeta>>();
            if (runId is not null || endpointName is null)
                objects.AddRange(TrainingObjects(runId is { } id ? await OrderAsync(ctx, id, ct) : SampleOrder(), config, kubernetes));
            if (endpointName is not null || runId is null)
                objects.AddRange(EndpointObjects(endpointName is null ? SampleEndpoint() : await EndpointAsync(ctx, endpointName, ct), config, kubernetes));
            ctx.Out.WriteLine("# Rendered by `emo kube render`: what the agents' Kubernetes runtime applies (fieldManager emo-agents).");
            ctx.Out.WriteLine("# Secret values are left out: the agent fills them in (a run's token, the artifact store's credentials).");
            ctx.Out.WriteLine("# Each Secret is owned by its Job or Deployment once that exists (ownerReferences carry its uid).");
            if (config["Artifacts:S3:Bucket"] is not { Length: > 0 })
                ctx.Out.WriteLine("# Warning: no Artifacts:S3 store is configured; pods cannot use this machine's local artifact store.");
            foreach (var obj in objects)
            {
                ctx.Out.WriteLine("---");
                ctx.Out.Write(KubernetesYaml.Serialize(obj));
                if (!KubernetesYaml.Serialize(obj).EndsWith('\n')) ctx.Out.WriteLine();
            }
            return 0;
        });
        return command;
    }

    private static IEnumerable<IKubernetesObject<V1ObjectMeta>> TrainingObjects(LaunchTraining order, IConfiguration config, KubernetesOptions kubernetes)
    {
        Agents.Runtime.JobSpec spec;
        try { spec = TrainingJob.Prepare(order, TrainingAgentOptions.From(config)); }
        catch (InvalidTrainingOrder e) { throw new CliError($"run {order.RunId} cannot be rendered: {e.Message}"); }
        var (job, secret) = KubeObjects.TrainingJob(spec, kubernetes);
        return secret is null ? [job] : [job, WithoutValues(secret)];
    }

    private static IEnumerable<IKubernetesObject<V1ObjectMeta>> EndpointObjects(ApplyEndpoint desired, IConfiguration config, KubernetesOptions kubernetes)
    {
        var step = ServingPlan.Decide(desired, null, int.MaxValue);
        EndpointObjects objects;
        try { objects = KubernetesServingRuntime.Objects(ServingAgentOptions.From(config), kubernetes, desired, Math.Max(step.Replicas, 1), "", ""); }
        catch (ServingUnavailable e) { throw new CliError($"endpoint {desired.Endpoint} cannot be rendered: {e.Message}"); }
        return objects.All.Select(o => o is V1Secret secret ? WithoutValues(secret) : o);
    }

    private static V1Secret WithoutValues(V1Secret secret)
    {
        secret.StringData = secret.StringData?.ToDictionary(s => s.Key, _ => "");
        return secret;
    }

    private static async Task<LaunchTraining> OrderAsync(CliContext ctx, Guid id, CancellationToken ct)
    {
        var run = await ctx.Api.GetAsync<TrainingRunView>($"/api/runs/{id}", ct);
        var dataset = await ctx.Api.GetAsync<DatasetView>($"/api/datasets/{run.DatasetId}", ct);
        return new LaunchTraining(run.RunId, run.ModelName, run.TrainerKind, dataset.Uri, dataset.Sha256, run.Hyperparameters, run.Resources,
            run.CodeVersion, TrackingToken: "issued-per-run", Options: run.Options);
    }

    private static async Task<ApplyEndpoint> EndpointAsync(CliContext ctx, string name, CancellationToken ct)
    {
        var view = await ctx.Api.GetAsync<EndpointView>($"/api/endpoints/{Uri.EscapeDataString(name)}", ct);
        return new ApplyEndpoint(view.Name, view.Revision, [new ServedVersion(view.ModelName, 1, "s3://render/model.onnx", new string('0', 64), 100)],
            view.MinReplicas, view.MaxReplicas);
    }

    private static LaunchTraining SampleOrder() => new(SampleRun, "recommender", TrainerCatalog.Recommender,
        "s3://eventmlops/datasets/movielens-100k.csv", "9f2c6d1b7e4a0c3f58e2b6d9a1c4f7e0b3d6a9c2f5e8b1d4a7c0f3e6b9d2a5c8",
        new Dictionary<string, double> { ["epochs"] = 10, ["factors"] = 32 }, new TrainingResources(Cpus: 4, MemoryMb: 8192, Gpus: 1),
        "sample", TrackingToken: "issued-per-run");

    private static ApplyEndpoint SampleEndpoint() => new("recommender", 1,
        [new ServedVersion("recommender", 1, "s3://eventmlops/eventmlops/sha256/ab/sample", new string('0', 64), 100)], MinReplicas: 1, MaxReplicas: 3);
}
