namespace Grpo.Rewards.Shaping;

/// <summary>Settings of <see cref="RepetitionPenaltyReward"/>; defaults as TRL's <c>get_repetition_penalty_reward</c>.</summary>
public sealed class RepetitionPenaltyOptions
{
    /// <summary>n, the n-gram size in tokens. Default 3 (TRL's <c>ngram_size</c>). Must be at least 1.</summary>
    public int NgramSize { get; init; } = 3;

    /// <summary>
    /// The penalty of a completion that is one n-gram repeated throughout. Default −1 (TRL's <c>max_penalty</c>).
    /// Must not be positive.
    /// </summary>
    public double MaxPenalty { get; init; } = -1;
}
