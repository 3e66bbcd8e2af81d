using System.Text;
using System.Text.Json.Nodes;
using k8s;
using k8s.Models;

namespace EventMlOps.Agents.Tests.Kubernetes;

/// <summary>
/// What the agents' pods must hold to: the Kubernetes "restricted" Pod Security Standard
/// (https://kubernetes.io/docs/concepts/security/pod-security-standards/), its baseline included, plus our own rule
/// that every container's root filesystem is read-only. And no secret value written into an object.
/// </summary>
public static class PodSecurity
{
    private static readonly HashSet<string> RestrictedVolumeTypes =
        ["configMap", "csi", "downwardAPI", "emptyDir", "ephemeral", "persistentVolumeClaim", "projected", "secret"];

    private static readonly HashSet<string> SafeSysctls =
    [
        "kernel.shm_rmid_forced", "net.ipv4.ip_local_port_range", "net.ipv4.ip_unprivileged_port_start", "net.ipv4.tcp_syncookies",
        "net.ipv4.ping_group_range", "net.ipv4.ip_local_reserved_ports", "net.ipv4.tcp_keepalive_time", "net.ipv4.tcp_fin_timeout",
        "net.ipv4.tcp_keepalive_intvl", "net.ipv4.tcp_keepalive_probes",
    ];

    private static readonly HashSet<string> SeLinuxTypes = ["container_t", "container_init_t", "container_kvm_t", "container_engine_t"];

    public static IReadOnlyList<string> RestrictedViolations(V1PodTemplateSpec template) =>
        template.Spec is null ? ["the template has no pod spec"] : RestrictedViolations(template.Spec);

    /// <summary>Every violation, one readable line each; empty when the pod is admitted under "restricted".</summary>
    public static IReadOnlyList<string> RestrictedViolations(V1PodSpec pod)
    {
        var violations = new List<string>();
        var podContext = pod.SecurityContext;
        if (pod.HostNetwork == true) violations.Add("hostNetwork is true");
        if (pod.HostPID == true) violations.Add("hostPID is true");
        if (pod.HostIPC == true) violations.Add("hostIPC is true");
        foreach (var volume in pod.Volumes ?? [])
        {
            var source = JsonNode.Parse(KubernetesJson.Serialize(volume))!.AsObject().Select(p => p.Key).Where(k => k != "name");
            foreach (var type in source.Where(t => !RestrictedVolumeTypes.Contains(t)))
                violations.Add($"volume '{volume.Name}' is a {type} volume");
        }
        if (podContext?.RunAsNonRoot == false) violations.Add("the pod sets runAsNonRoot false");
        if (podContext?.RunAsUser == 0) violations.Add("the pod runs as user 0");
        if (podContext?.SeccompProfile?.Type == "Unconfined") violations.Add($"the pod's seccomp profile is {podContext!.SeccompProfile!.Type}");
        if (podContext?.AppArmorProfile?.Type == "Unconfined") violations.Add("the pod's AppArmor profile is Unconfined");
        violations.AddRange(SeLinux("the pod", podContext?.SeLinuxOptions));
        if (podContext?.WindowsOptions?.HostProcess == true) violations.Add("the pod is a Windows host process");
        foreach (var sysctl in podContext?.Sysctls ?? [])
            if (!SafeSysctls.Contains(sysctl.Name)) violations.Add($"sysctl {sysctl.Name} is not in the safe set");

        var containers = (pod.Containers ?? []).Select(c => ($"container '{c.Name}'", c.SecurityContext, c.Ports))
            .Concat((pod.InitContainers ?? []).Select(c => ($"init container '{c.Name}'", c.SecurityContext, c.Ports)))
            .Concat((pod.EphemeralContainers ?? []).Select(c => ($"ephemeral container '{c.Name}'", c.SecurityContext, c.Ports)));
        foreach (var (who, context, ports) in containers)
        {
            if (context?.Privileged == true) violations.Add($"{who} is privileged");
            if (context?.AllowPrivilegeEscalation != false) violations.Add($"{who} does not set allowPrivilegeEscalation false");
            if (context?.ReadOnlyRootFilesystem != true) violations.Add($"{who} does not set readOnlyRootFilesystem true");
            if (context?.RunAsNonRoot == false || (context?.RunAsNonRoot is null && podContext?.RunAsNonRoot != true))
                violations.Add($"{who} may run as root (runAsNonRoot true on neither the container nor the pod)");
            if (context?.RunAsUser == 0) violations.Add($"{who} runs as user 0");
            var seccomp = context?.SeccompProfile?.Type ?? podContext?.SeccompProfile?.Type;
            if (seccomp is not ("RuntimeDefault" or "Localhost"))
                violations.Add($"{who} has no RuntimeDefault or Localhost seccomp profile (on neither the container nor the pod)");
            if (context?.Capabilities?.Drop?.Contains("ALL") != true) violations.Add($"{who} does not drop ALL capabilities");
            foreach (var added in context?.Capabilities?.Add ?? [])
                if (added != "NET_BIND_SERVICE") violations.Add($"{who} adds capability {added}");
            if (context?.ProcMount is not (null or "Default")) violations.Add($"{who} sets procMount {context.ProcMount}");
            if (context?.AppArmorProfile?.Type == "Unconfined") violations.Add($"{who}'s AppArmor profile is Unconfined");
            violations.AddRange(SeLinux(who, context?.SeLinuxOptions));
            if (context?.WindowsOptions?.HostProcess == true) violations.Add($"{who} is a Windows host process");
            foreach (var port in ports ?? [])
                if (port.HostPort is not (null or 0)) violations.Add($"{who} binds host port {port.HostPort}");
        }
        return violations;
    }

    /// <summary>The secret values that appear anywhere in the object as it is sent (any string in its JSON, keys
    /// included), in clear or base64-encoded.</summary>
    public static IReadOnlyList<string> SecretValuesIn(object obj, IEnumerable<string> secretValues)
    {
        var json = obj switch
        {
            string text => JsonNode.Parse(text),
            JsonNode node => node,
            _ => JsonNode.Parse(KubernetesJson.Serialize(obj)),
        };
        var strings = Strings(json).ToList();
        return [.. secretValues.Distinct().Where(secret =>
        {
            if (string.IsNullOrEmpty(secret)) throw new ArgumentException("an empty secret value would be found everywhere", nameof(secretValues));
            var encoded = Convert.ToBase64String(Encoding.UTF8.GetBytes(secret));
            return strings.Any(s => s.Contains(secret, StringComparison.Ordinal) || s.Contains(encoded, StringComparison.Ordinal));
        })];
    }

    private static IEnumerable<string> SeLinux(string who, V1SELinuxOptions? options)
    {
        if (options is null) yield break;
        if (!string.IsNullOrEmpty(options.Type) && !SeLinuxTypes.Contains(options.Type)) yield return $"{who} sets SELinux type {options.Type}";
        if (!string.IsNullOrEmpty(options.User)) yield return $"{who} sets SELinux user {options.User}";
        if (!string.IsNullOrEmpty(options.Role)) yield return $"{who} sets SELinux role {options.Role}";
    }

    private static IEnumerable<string> Strings(JsonNode? node) => node switch
    {
        JsonObject obj => obj.SelectMany(p => Strings(p.Value).Prepend(p.Key)),
        JsonArray array => array.SelectMany(Strings),
        JsonValue value when value.TryGetValue<string>(out var text) => [text],
        _ => [],
    };
}
