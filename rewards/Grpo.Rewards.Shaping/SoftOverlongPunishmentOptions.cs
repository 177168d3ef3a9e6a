namespace Grpo.Rewards.Shaping;

/// <summary>Settings of <see cref="SoftOverlongPunishment"/>, named as in the DAPO paper (arXiv 2503.14476, Eq. 13).</summary>
public sealed class SoftOverlongPunishmentOptions
{
    /// <summary>
    /// L_max, in tokens: beyond it the reward is −1. Required, because it should equal the sampler's maximum
    /// completion length. DAPO used 20,480 (TRL's <c>max_completion_len</c>, also required there).
    /// </summary>
    public required int MaxCompletionLength { get; init; }

    /// <summary>
    /// C (L_cache), in tokens: the ramp over which the penalty grows from 0 to −1, ending at
    /// <see cref="MaxCompletionLength"/>. 0 gives a hard −1 beyond L_max. Required; DAPO used 4,096
    /// (TRL's <c>soft_punish_cache</c>). Must lie in [0, <see cref="MaxCompletionLength"/>].
    /// </summary>
    public required int CacheLength { get; init; }
}
