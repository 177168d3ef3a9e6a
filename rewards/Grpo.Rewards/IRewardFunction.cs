namespace Grpo.Rewards;

/// <summary>
/// A verifier: scores a batch of completions. Implement this to add your own reward.
/// </summary>
/// <remarks>
/// <para>Return one score per input, in order. <see cref="double.NaN"/> means "not applicable" (say, the row has
/// no gold answer this reward can read): the trainer leaves it out of the weighted sum instead of counting it as 0.</para>
/// <para>Rewards are untrusted from the trainer's point of view: <see cref="RewardRunner"/> calls them concurrently,
/// with a timeout, and turns an exception, a timeout or a wrong count into NaN scores that are recorded, never into
/// a crash. Honour the <see cref="CancellationToken"/> so that a timed-out call stops its work.</para>
/// <para>Inputs of one batch can come from different prompts; a reward must not assume they share a row.</para>
/// </remarks>
public interface IRewardFunction
{
    /// <summary>A short, unique name; metrics are reported under it (rewards/NAME/mean).</summary>
    string Name { get; }

    /// <summary>
    /// Names of rewards whose scores this one reads from <see cref="RewardInput.PriorScores"/>. They run first;
    /// everything else runs concurrently. Empty by default.
    /// </summary>
    IReadOnlyList<string> DependsOn => [];

    /// <summary>Scores each input; returns exactly one score per input, NaN for "not applicable".</summary>
    Task<double[]> ScoreAsync(IReadOnlyList<RewardInput> inputs, CancellationToken cancellationToken);
}
