namespace Grpo.Training;

/// <summary>Training cannot go on (the loss became NaN or infinite); the last checkpoint is intact.</summary>
public sealed class GrpoTrainingException(int step, GrpoStepMetrics? lastMetrics, string message)
    : Exception(message + (lastMetrics is null ? "" : $" Last metrics (step {lastMetrics.Step}): reward {lastMetrics.Reward:0.####}, " +
        $"kl {lastMetrics.Kl?.ToString("0.####") ?? "-"}, grad_norm {lastMetrics.GradNorm:0.####}, learning_rate {lastMetrics.LearningRate:0.######}.") +
        " Lower the learning rate or raise MaxGradNorm's strictness, and resume from the last checkpoint.")
{
    /// <summary>The step that failed, 1-based.</summary>
    public int Step { get; } = step;

    /// <summary>The metrics of the step before, or null when the first step failed.</summary>
    public GrpoStepMetrics? LastMetrics { get; } = lastMetrics;
}
