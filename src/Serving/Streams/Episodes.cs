using System.Security.Cryptography;
using System.Text;
using EventMlOps.Contracts;
using EventMlOps.Contracts.Streams;
using EventMlOps.Models;

namespace EventMlOps.Serving.Streams;

/// <summary>A machine's anomaly episode in progress: from the window at <paramref name="RaisedWindowStart"/>, <paramref name="Windows"/>
/// anomalous windows so far (the highest <paramref name="MaxScore"/>), <paramref name="Normal"/> normal windows in a row since;
/// not yet <paramref name="Raised"/> while its anomalous windows in a row are fewer than the scorer's <c>RaiseAfter</c>.</summary>
public sealed record OpenEpisode(DateTimeOffset RaisedWindowStart, int Windows, double MaxScore, int Normal, bool Raised = true);

/// <summary>A window scored by one version.</summary>
public sealed record ScoredWindow(string Machine, int Version, DateTimeOffset Start, DateTimeOffset End, double Score, double Threshold);

/// <summary>Episodes, not one alarm per window, by the <see cref="AlarmRule"/> the trainer counts with: raised once <c>raiseAfter</c>
/// windows in a row are over the threshold (dated from the first of them), cleared after <c>clearAfter</c> normal windows in
/// a row. Pure; the facts' command ids derive from the endpoint, machine and window, so a batch scored again after a crash
/// reports the very same facts.</summary>
public static class Episodes
{
    public static (OpenEpisode? Episode, IReplicaFact? Fact) Decide(string endpoint, OpenEpisode? open, ScoredWindow w, int clearAfter, int raiseAfter)
    {
        var anomalous = AlarmRule.Alarm(w.Score, w.Threshold);
        var (state, change) = new AlarmRule(raiseAfter, clearAfter).Step(open is null ? null : new AlarmState(open.Windows, open.Normal, open.Raised), anomalous);
        if (change == AlarmChange.Cleared)
            return (null, new AnomalyAlarmCleared(Id(endpoint, w.Machine, "cleared", open!.RaisedWindowStart), endpoint, w.Machine, w.Version,
                open.RaisedWindowStart, w.End, open.Windows, open.MaxScore));
        if (state is not { } s) return (null, null);
        var episode = new OpenEpisode(open?.RaisedWindowStart ?? w.Start, s.Windows,
            anomalous ? Math.Max(open?.MaxScore ?? w.Score, w.Score) : open!.MaxScore, s.Normal, s.Raised);
        return change == AlarmChange.Raised
            ? (episode, new AnomalyAlarmRaised(Id(endpoint, w.Machine, "raised", episode.RaisedWindowStart), endpoint, w.Machine, w.Version,
                episode.RaisedWindowStart, w.End, episode.MaxScore, w.Threshold))
            : (episode, null);
    }

    private static Guid Id(string endpoint, string machine, string what, DateTimeOffset window) =>
        new(SHA256.HashData(Encoding.UTF8.GetBytes($"{endpoint}|{machine}|{what}|{window.ToUnixTimeMilliseconds()}")).AsSpan(0, 16));
}
