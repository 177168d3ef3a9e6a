namespace Grpo.Rewards.Shaping;

/// <summary>
/// Settings of <see cref="CosineLengthReward"/>. Value names and defaults are open-r1's
/// <c>get_cosine_scaled_reward</c>, so its recipes carry over (but see <see cref="MaxLength"/>: tokens, not characters).
/// </summary>
public sealed class CosineLengthRewardOptions
{
    /// <summary>
    /// The name of the reward whose score says whether the answer is correct (the maths reward, <c>MathAnswerReward</c>, is named "math_answer"). Default "math_answer".
    /// It must be among the rewards given to the <see cref="RewardRunner"/>.
    /// </summary>
    public string CorrectnessReward { get; init; } = "math_answer";

    /// <summary>
    /// A correctness score at or above this counts as correct, below it as wrong. Default 0.5: the maths reward
    /// scores 1 or 0, and partial-credit rewards are correct when at least half right.
    /// </summary>
    public double CorrectThreshold { get; init; } = 0.5;

    /// <summary>
    /// L_max, in completion tokens: the length at which a correct answer has fallen to <see cref="MinValueCorrect"/>
    /// and a wrong one has risen to <see cref="MaxValueWrong"/>. Default 1000 (open-r1's <c>max_len</c>; open-r1
    /// counts characters, about four per token in English, so 250 tokens reproduces an open-r1 recipe's 1000).
    /// </summary>
    public int MaxLength { get; init; } = 1000;

    /// <summary>Reward of a correct answer of length L_max or more. Default 0.5 (open-r1 <c>min_value_correct</c>).</summary>
    public double MinValueCorrect { get; init; } = 0.5;

    /// <summary>Reward of a correct answer of length 0. Default 1.0 (open-r1 <c>max_value_correct</c>).</summary>
    public double MaxValueCorrect { get; init; } = 1.0;

    /// <summary>Reward of a wrong answer of length 0. Default −1.0 (open-r1 <c>min_value_wrong</c>).</summary>
    public double MinValueWrong { get; init; } = -1.0;

    /// <summary>Reward of a wrong answer of length L_max or more. Default −0.5 (open-r1 <c>max_value_wrong</c>).</summary>
    public double MaxValueWrong { get; init; } = -0.5;
}
