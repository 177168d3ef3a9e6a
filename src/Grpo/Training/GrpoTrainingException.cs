namespace Grpo.Training;

/// <summary>Why a training step could not go on.</summary>
public enum TrainingFailure
{
    /// <summary>The loss, the gradients, the weights or the model's outputs became NaN or infinite: the run diverged.</summary>
    Diverged,
    /// <summary>A tensor could not be allocated: the step needs more memory than the device has.</summary>
    OutOfMemory,
    /// <summary>libtorch refused an operation for another reason (the message says which).</summary>
    Native,
}

/// <summary>
/// Training cannot go on; nothing of the failing step was applied, and the checkpoints on disk are intact. The message
/// says what happened, what to change, and (once the run has added it) where to resume from.
/// </summary>
public sealed class GrpoTrainingException : Exception
{
    /// <summary>A failure of step <paramref name="step"/> (1-based) for <paramref name="cause"/>.</summary>
    public GrpoTrainingException(int step, TrainingFailure cause, string message, Exception? inner = null) : base(message, inner)
        => (Step, Cause) = (step, cause);

    /// <summary>The step that failed, 1-based.</summary>
    public int Step { get; }

    /// <summary>What went wrong.</summary>
    public TrainingFailure Cause { get; }

    /// <summary>
    /// The same failure with the run's context added: the last metrics before it, and how to continue given the newest
    /// checkpoint (<paramref name="newestCheckpoint"/>, or null when none was written yet: a resume cannot work then).
    /// </summary>
    public GrpoTrainingException InRun(GrpoStepMetrics? lastMetrics, string? newestCheckpoint)
    {
        var last = lastMetrics is null ? "" : $" Last metrics (step {lastMetrics.Step}): reward {lastMetrics.Reward:0.####}, " +
            $"kl {lastMetrics.Kl?.ToString("0.####") ?? "-"}, grad_norm {lastMetrics.GradNorm:0.####}, learning_rate {lastMetrics.LearningRate:0.######}.";
        var advice = Cause == TrainingFailure.Diverged ? " Lower the learning rate (or MaxGradNorm), then " : " Then ";
        var resume = newestCheckpoint is null
            ? advice + $"start the run again: no checkpoint was written before step {Step}."
            : advice + $"resume from {newestCheckpoint}.";
        return new GrpoTrainingException(Step, Cause, Message + last + resume, this);
    }
}
