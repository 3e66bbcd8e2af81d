using System.Globalization;
using EventMlOps.Agents.Hosting;
using Microsoft.Extensions.Configuration;

namespace EventMlOps.Agents.Kubernetes;

/// <summary>How the Kubernetes runtime shapes and places what it creates (section <c>Kubernetes</c>).</summary>
/// <param name="Namespace"><c>Kubernetes:Namespace</c>: the one namespace of this deployment; default the pod's own
/// namespace in a cluster, else the kubeconfig context's, else <c>eventmlops</c>.</param>
/// <param name="Kubeconfig"><c>Kubernetes:Kubeconfig</c> (else <c>KUBECONFIG</c>, else <c>~/.kube/config</c>) when the
/// agent runs outside the cluster.</param>
/// <param name="ActiveDeadlineSeconds"><c>Kubernetes:Training:ActiveDeadlineSeconds</c> (86400): a training Job is failed after it.</param>
/// <param name="TtlSecondsAfterFinished"><c>Kubernetes:Training:TtlSecondsAfterFinished</c> (86400): how long a finished Job
/// (and its log) stays to be read.</param>
/// <param name="GpuNodeSelector"><c>Kubernetes:GpuNodeSelector:&lt;label&gt;</c> (default <c>nvidia.com/gpu.present=true</c>):
/// added to every pod that asks for a GPU, with the <c>nvidia.com/gpu</c> toleration.</param>
/// <param name="RunAsUser"><c>Kubernetes:RunAsUser</c> (1654, the .NET images' <c>app</c> user): pods never run as root.</param>
/// <param name="CancelGrace"><c>Agents:CancelGraceSeconds</c> (10): a cancelled or deleted pod's termination grace period.</param>
/// <param name="ServingPort">The model server's container port (8080); its Service answers on 80.</param>
/// <param name="ServingCpus"><c>Kubernetes:Serving:Cpus</c> (1) and <paramref name="ServingMemoryMb"/>
/// (<c>Kubernetes:Serving:MemoryMb</c>, 1024): each replica's requests (memory is also its limit).</param>
/// <param name="ServingGpus"><c>Kubernetes:Serving:Gpus</c> (0): GPUs per replica (the GPU flavour of emo-serve uses them).</param>
/// <param name="CpuTargetPercent"><c>Kubernetes:Serving:CpuTargetPercent</c> (70) and <paramref name="InFlightTarget"/>
/// (<c>Kubernetes:Serving:InFlightTarget</c>, 16): the autoscaler's targets, per replica.</param>
/// <param name="StartupSeconds"><c>Agents:ServingStartSeconds</c> (60): how long a replica may take to load its models.</param>
public sealed record KubernetesOptions(
    string? Namespace,
    string? Kubeconfig,
    long ActiveDeadlineSeconds,
    int TtlSecondsAfterFinished,
    IReadOnlyDictionary<string, string> GpuNodeSelector,
    long RunAsUser,
    TimeSpan CancelGrace,
    int ServingPort,
    int ServingCpus,
    int ServingMemoryMb,
    int ServingGpus,
    int CpuTargetPercent,
    int InFlightTarget,
    TimeSpan StartupSeconds)
{
    public const string FieldManager = "emo-agents";

    public static KubernetesOptions From(IConfiguration config)
    {
        var gpu = config.GetSection("Kubernetes:GpuNodeSelector").GetChildren().Where(c => c.Value is not null).ToDictionary(c => c.Key, c => c.Value!);
        return new(
            config["Kubernetes:Namespace"] is { Length: > 0 } ns ? ns : null,
            config["Kubernetes:Kubeconfig"] is { Length: > 0 } file ? file : null,
            (long)AgentSettings.Number(config, "Kubernetes:Training:ActiveDeadlineSeconds", 86400),
            (int)AgentSettings.Number(config, "Kubernetes:Training:TtlSecondsAfterFinished", 86400),
            gpu.Count > 0 ? gpu : new Dictionary<string, string> { ["nvidia.com/gpu.present"] = "true" },
            (long)AgentSettings.Number(config, "Kubernetes:RunAsUser", 1654),
            TimeSpan.FromSeconds(AgentSettings.Number(config, "Agents:CancelGraceSeconds", 10)),
            8080,
            (int)AgentSettings.Number(config, "Kubernetes:Serving:Cpus", 1),
            (int)AgentSettings.Number(config, "Kubernetes:Serving:MemoryMb", 1024),
            int.TryParse(config["Kubernetes:Serving:Gpus"], NumberStyles.None, CultureInfo.InvariantCulture, out var gpus) ? gpus : 0,
            (int)AgentSettings.Number(config, "Kubernetes:Serving:CpuTargetPercent", 70),
            (int)AgentSettings.Number(config, "Kubernetes:Serving:InFlightTarget", 16),
            TimeSpan.FromSeconds(AgentSettings.Number(config, "Agents:ServingStartSeconds", 60)));
    }
}
