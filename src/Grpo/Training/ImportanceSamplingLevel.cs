namespace Grpo.Training;

/// <summary>Whether the policy ratio π/π_old is taken per token or once per completion.</summary>
public enum ImportanceSamplingLevel
{
    /// <summary>One ratio per token, exp(logp − logp_old) (TRL <c>"token"</c>, PPO/GRPO). TRL's default.</summary>
    Token,

    /// <summary>
    /// One ratio per completion, exp of the mean over its tokens of the log-ratio, applied to all its tokens (TRL
    /// <c>"sequence"</c>, GSPO, arXiv:2507.18071): matches a reward given to the whole sequence, and is steadier.
    /// </summary>
    Sequence,
}
