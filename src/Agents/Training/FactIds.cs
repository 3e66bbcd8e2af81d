using System.Security.Cryptography;
using System.Text;

namespace EventMlOps.Agents.Training;

/// <summary>Command ids for the facts the agent reports, derived from the run and the fact (a name-based UUID, version 8):
/// a fact reported again — by a redelivered work order or a restarted agent — carries the same id, and the control
/// plane appends nothing for it. Succeeded and failed share one id: a run has one outcome.</summary>
public static class FactIds
{
    public static Guid Submitted(Guid runId) => For(runId, "submitted");

    public static Guid Started(Guid runId) => For(runId, "started");

    public static Guid Epoch(Guid runId, int epoch) => For(runId, $"epoch/{epoch}");

    public static Guid Outcome(Guid runId) => For(runId, "outcome");

    public static Guid For(Guid runId, string fact)
    {
        var hash = SHA256.HashData([.. runId.ToByteArray(bigEndian: true), .. Encoding.UTF8.GetBytes("eventmlops/training-agent/" + fact)]);
        hash[6] = (byte)((hash[6] & 0x0F) | 0x80); // version 8 (custom)
        hash[8] = (byte)((hash[8] & 0x3F) | 0x80); // RFC 9562 variant
        return new Guid(hash.AsSpan(0, 16), bigEndian: true);
    }
}
