namespace Grpo.Training;

/// <summary>
/// How the ratio π_old / π_sampler between the trainer's own log-probs and the sampler's is turned into a weight on the
/// loss (TRL <c>vllm_importance_sampling_mode</c>). C_min and C_max are <see cref="GrpoOptions.SamplerImportanceSamplingClipMin"/>
/// and <see cref="GrpoOptions.SamplerImportanceSamplingClipMax"/>.
/// </summary>
public enum SamplerImportanceSamplingMode
{
    /// <summary>One ratio per token, clipped to [C_min, C_max] (TRL <c>"token_truncate"</c>, truncated IS).</summary>
    TokenTruncate,

    /// <summary>One ratio per token, set to 0 outside [C_min, C_max] (TRL <c>"token_mask"</c>, masked IS).</summary>
    TokenMask,

    /// <summary>
    /// One ratio per completion, exp of the sum over its tokens of the log-ratio, clipped to [C_min, C_max] (TRL
    /// <c>"sequence_truncate"</c>).
    /// </summary>
    SequenceTruncate,

    /// <summary>One ratio per completion, as <see cref="SequenceTruncate"/>, 0 outside [C_min, C_max] (TRL <c>"sequence_mask"</c>, TRL's default).</summary>
    SequenceMask,
}
