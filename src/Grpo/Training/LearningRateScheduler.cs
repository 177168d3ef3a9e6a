namespace Grpo.Training;

/// <summary>
/// The learning rate at each optimizer step, as Transformers' schedulers compute it (<c>get_linear_schedule_with_warmup</c>,
/// <c>get_cosine_schedule_with_warmup</c>, <c>get_constant_schedule_with_warmup</c>): a linear ramp from 0 over the warmup
/// steps, then <see cref="LearningRateSchedule"/>. Kept beside <see cref="GrpoOptions"/> so the meaning of its warmup and
/// schedule options lives in one place.
/// </summary>
public static class LearningRateScheduler
{
    /// <summary>Warmup steps in effect: <see cref="GrpoOptions.WarmupSteps"/> when above 0, else ⌈total × <see cref="GrpoOptions.WarmupRatio"/>⌉.</summary>
    public static int WarmupSteps(GrpoOptions options, int totalSteps) =>
        options.WarmupSteps > 0 ? options.WarmupSteps : (int)Math.Ceiling(totalSteps * options.WarmupRatio);

    /// <summary>The learning rate for optimizer step <paramref name="step"/> (0-based) of <paramref name="totalSteps"/>.</summary>
    public static double LearningRateAt(GrpoOptions options, int step, int totalSteps)
    {
        ArgumentNullException.ThrowIfNull(options);
        ArgumentOutOfRangeException.ThrowIfNegative(step);
        ArgumentOutOfRangeException.ThrowIfLessThan(totalSteps, 1);
        var warmup = WarmupSteps(options, totalSteps);
        if (step < warmup)
            return options.LearningRate * step / Math.Max(1, warmup);
        var progress = (double)(step - warmup) / Math.Max(1, totalSteps - warmup);
        var factor = options.LearningRateSchedule switch
        {
            LearningRateSchedule.Constant => 1.0,
            LearningRateSchedule.Linear => Math.Max(0.0, 1 - progress),
            LearningRateSchedule.Cosine => Math.Max(0.0, 0.5 * (1 + Math.Cos(Math.PI * progress))),
            _ => throw new ArgumentOutOfRangeException(nameof(options), options.LearningRateSchedule, "Use Constant, Linear or Cosine."),
        };
        return options.LearningRate * factor;
    }
}
