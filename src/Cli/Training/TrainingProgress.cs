using System.Diagnostics;
using EventMlOps.Contracts.Views;

namespace EventMlOps.Cli.Training;

/// <summary>A run's progress as one redrawn line on a terminal (<c>epoch 3/10 [######----] loss 0.31 ETA 14 s</c>); a line per
/// change otherwise (a log, a pipe); each line after <paramref name="indent"/>.</summary>
public sealed class TrainingProgress(TextWriter w, bool redraw, string indent = "")
{
    private readonly Stopwatch _clock = Stopwatch.StartNew();
    private string _last = "";

    /// <summary>Whether <paramref name="w"/> is this process's console on a terminal (not redirected).</summary>
    public static bool IsTerminal(TextWriter w) => !Console.IsOutputRedirected && ReferenceEquals(w, Console.Out);

    public void Draw(TrainingRunView run, IReadOnlyDictionary<string, double> requested)
    {
        var total = requested.TryGetValue("epochs", out var e) ? (int)e
            : run.Params.TryGetValue("epochs", out var p) && int.TryParse(p, out var tracked) ? tracked : (int?)null;
        var line = run.Status switch
        {
            RunStatus.Requested => "waiting for a training agent…",
            RunStatus.Submitted => $"submitted as {run.JobName}, starting…",
            _ when run.Epochs == 0 => $"running ({_clock.Elapsed.TotalSeconds:0} s), first epoch in progress…",
            _ => Epochs(run, total),
        };
        // A terminal redraws on any change; a log gets a line only when the state or epoch moves on.
        var key = redraw ? line : $"{run.Status}/{run.Epochs}";
        if (key == _last) return;
        _last = key;
        if (redraw) w.Write($"\r{indent}{line,-100}");
        else w.WriteLine(indent + line);
        w.Flush();
    }

    private static string Epochs(TrainingRunView run, int? total)
    {
        var metrics = Fmt.Headline(run.Metrics);
        if (total is not { } t || t <= 0) return $"epoch {run.Epochs}  {metrics}";
        const int width = 20;
        var done = Math.Clamp(run.Epochs * width / t, 0, width);
        var elapsed = run.StartedAt is { } s ? (DateTimeOffset.UtcNow - s).TotalSeconds : 0;
        var eta = run.Epochs > 0 && run.Epochs < t ? $"  ETA {elapsed / run.Epochs * (t - run.Epochs):0} s" : "";
        return $"epoch {run.Epochs}/{t} [{new string('#', done)}{new string('-', width - done)}] {metrics}{eta}";
    }

    public void Note(string text)
    {
        if (redraw) w.WriteLine();
        w.WriteLine(indent + text);
        _last = "";
    }

    public void Done()
    {
        if (redraw && _last.Length > 0) w.WriteLine();
    }
}
