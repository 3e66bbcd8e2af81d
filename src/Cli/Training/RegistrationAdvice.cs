using System.Globalization;
using EventMlOps.Contracts.Views;

namespace EventMlOps.Cli.Training;

/// <summary>What to do about a run the registration policy blocked: the next step its gate suggests, and the explicit
/// override — registering it by hand, a person's decision recorded under their name (an approver still decides
/// Production). Null when the run was not blocked by a quality gate.</summary>
public static class RegistrationAdvice
{
    public static string? For(TrainingRunView run)
    {
        if (run.RegistrationBlocked is not { } why || !why.StartsWith("quality gate:", StringComparison.Ordinal)) return null;
        var epochs = run.Epochs > 0 ? run.Epochs : (int)run.Hyperparameters.GetValueOrDefault("epochs", 10);
        var more = Math.Max(2 * epochs, epochs + 10).ToString(CultureInfo.InvariantCulture);
        var retrain = $"./emo train {run.TrainerKind} --model {run.ModelName} --dataset {run.DatasetId} --epochs {more}";
        var next = why switch
        {
            _ when why.Contains("does not hold later", StringComparison.Ordinal) =>
                $"the threshold did not hold on the later data: if the readings' level shifted, train centred per window ({retrain} --param normalisation=window), " +
                "or validate on a period like what follows (--param train_until=… --param validate_until=…)",
            _ when why.Contains("z-score", StringComparison.Ordinal) => $"the detector adds nothing over a rolling z-score here: train longer or on more data ({retrain})",
            _ when why.Contains("reported no", StringComparison.Ordinal) => $"the trainer did not report what the gate reads: train with this release's emo-train ({retrain})",
            _ => $"train longer ({retrain})",
        };
        return $"next: {next}; or register it anyway (your decision, recorded under your name; an approver still decides Production): " +
               $"./emo versions register {run.ModelName} --run {run.RunId}";
    }
}
