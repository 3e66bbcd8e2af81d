using System.Security.Cryptography;
using System.Text;
using EventMlOps.Contracts;
using EventMlOps.Contracts.Streams;

namespace EventMlOps.Serving.Streams;

/// <summary>A machine's anomaly episode in progress: from the window at <paramref name="RaisedWindowStart"/>, <paramref name="Windows"/>
/// anomalous windows so far (the highest <paramref name="MaxScore"/>), <paramref name="Normal"/> normal windows in a row since;
/// not yet <paramref name="Raised"/> while its anomalous windows in a row are fewer than the scorer's <c>RaiseAfter</c>.</summary>
public sealed record OpenEpisode(DateTimeOffset RaisedWindowStart, int Windows, double MaxScore, int Normal, bool Raised = true);

/// <summary>A window scored by one version.</summary>
public sealed record ScoredWindow(string Machine, int Version, DateTimeOffset Start, DateTimeOffset End, double Score, double Threshold);

/// <summary>Episodes, not one alarm per window: raised once <c>raiseAfter</c> windows in a row reach the threshold (dated
/// from the first of them: a single window over it is a blip, the model's false-positive rate at work), cleared after
/// <c>clearAfter</c> normal windows in a row. Pure; the facts' command ids derive from the endpoint, machine and window,
/// so a batch scored again after a crash reports the very same facts.</summary>
public static class Episodes
{
    public static (OpenEpisode? Episode, IReplicaFact? Fact) Decide(string endpoint, OpenEpisode? open, ScoredWindow w, int clearAfter, int raiseAfter)
    {
        var anomalous = w.Score >= w.Threshold;
        switch (open)
        {
            case null when anomalous:
                return Raising(endpoint, new OpenEpisode(w.Start, 1, w.Score, 0, Raised: false), w, raiseAfter);
            case null:
            case { Raised: false } when !anomalous:
                return (null, null);
            case { Raised: false }:
                return Raising(endpoint, open with { Windows = open.Windows + 1, MaxScore = Math.Max(open.MaxScore, w.Score) }, w, raiseAfter);
            case var _ when anomalous:
                return (open with { Windows = open.Windows + 1, MaxScore = Math.Max(open.MaxScore, w.Score), Normal = 0 }, null);
            case var _ when open.Normal + 1 < clearAfter:
                return (open with { Normal = open.Normal + 1 }, null);
            default:
                return (null, new AnomalyAlarmCleared(Id(endpoint, w.Machine, "cleared", open.RaisedWindowStart), endpoint, w.Machine, w.Version,
                    open.RaisedWindowStart, w.End, open.Windows, open.MaxScore));
        }
    }

    private static (OpenEpisode, IReplicaFact?) Raising(string endpoint, OpenEpisode pending, ScoredWindow w, int raiseAfter) =>
        pending.Windows < raiseAfter
            ? (pending, null)
            : (pending with { Raised = true }, new AnomalyAlarmRaised(Id(endpoint, w.Machine, "raised", pending.RaisedWindowStart), endpoint, w.Machine,
                w.Version, pending.RaisedWindowStart, w.End, pending.MaxScore, w.Threshold));

    private static Guid Id(string endpoint, string machine, string what, DateTimeOffset window) =>
        new(SHA256.HashData(Encoding.UTF8.GetBytes($"{endpoint}|{machine}|{what}|{window.ToUnixTimeMilliseconds()}")).AsSpan(0, 16));
}
