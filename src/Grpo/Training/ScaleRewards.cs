namespace Grpo.Training;

/// <summary>What a completion's centred reward (reward minus its group's mean) is divided by to become its advantage.</summary>
public enum ScaleRewards
{
    /// <summary>The unbiased standard deviation of its group, plus 1e-4 (TRL <c>"group"</c>, DeepSeekMath GRPO). TRL's default.</summary>
    Group,

    /// <summary>The unbiased standard deviation of the whole generation batch, plus 1e-4 (TRL <c>"batch"</c>, PPO-Lite, arXiv:2508.08221).</summary>
    Batch,

    /// <summary>
    /// Nothing (TRL <c>"none"</c>, Dr. GRPO, arXiv:2503.20783): dividing by the group's deviation up-weights questions that
    /// are almost always or almost never solved, a difficulty bias.
    /// </summary>
    None,
}
