using static TorchSharp.torch;

namespace Grpo.Training;

/// <summary>
/// The correction for a sampler that is not the trainer's forward pass (TRL <c>vllm_importance_sampling_correction</c>,
/// in <c>_generate_and_score_completions</c>): from the old policy's log-probs (the trainer's own pass before the
/// update) and the sampler's, the weight π_old / π_sampler the loss multiplies by (<see cref="GrpoLossInputs.ImportanceSamplingRatio"/>),
/// and TRL's <c>sampling/…</c> metrics as mergeable partial statistics.
/// </summary>
public static class SamplerImportanceSampling
{
    /// <summary>
    /// The weight: exp(m·(old − sampler)) per token, or exp(Σ_t m·(old − sampler)) per completion, truncated to or masked
    /// outside [<paramref name="clipMin"/>, <paramref name="clipMax"/>] as <paramref name="mode"/> says. A null bound is no
    /// bound; a truncate mode needs at least one.
    /// </summary>
    /// <param name="oldLogProbs">[B, T] the trainer's log-probs of the sampled tokens before the update (no gradient).</param>
    /// <param name="samplerLogProbs">[B, T] the log-probs the sampler reported for them.</param>
    /// <param name="mask">[B, T] 1 on completion tokens, 0 on padding.</param>
    /// <param name="mode">Token or sequence, truncate or mask.</param>
    /// <param name="clipMax">C_max (<c>vllm_importance_sampling_clip_max</c>, default 3.0).</param>
    /// <param name="clipMin">C_min (<c>vllm_importance_sampling_clip_min</c>, default null).</param>
    public static SamplerImportanceSamplingResult Compute(
        Tensor oldLogProbs, Tensor samplerLogProbs, Tensor mask, SamplerImportanceSamplingMode mode, double? clipMax = 3.0, double? clipMin = null)
    {
        Validate(oldLogProbs, samplerLogProbs, mask, mode, clipMax, clipMin);
        using var noGrad = no_grad();
        using var scope = NewDisposeScope();
        var old = oldLogProbs.detach();
        var sampler = samplerLogProbs.detach().to(old.dtype);
        var m = mask.to(old.dtype);
        var sequenceLevel = mode is SamplerImportanceSamplingMode.SequenceTruncate or SamplerImportanceSamplingMode.SequenceMask;

        var logDifference = (old - sampler) * m;
        if (sequenceLevel)
            logDifference = logDifference.sum(-1, keepdim: true);
        var ratio = logDifference.exp();
        if (mode is SamplerImportanceSamplingMode.TokenTruncate or SamplerImportanceSamplingMode.SequenceTruncate)
        {
            if (clipMin is { } low) ratio = ratio.clamp_min(low);
            if (clipMax is { } high) ratio = ratio.clamp_max(high);
        }
        else
        {
            var outside = ratio.lt(clipMin ?? double.NegativeInfinity).logical_or(ratio.gt(clipMax ?? double.PositiveInfinity));
            ratio = ratio.masked_fill(outside, 0.0);
        }

        var active = mask.to(ScalarType.Bool);
        var difference = (old - sampler).abs().masked_select(active).to(ScalarType.Float64).cpu().data<double>().ToArray();
        var ratios = (sequenceLevel ? ratio.flatten() : ratio.masked_select(active)).to(ScalarType.Float64).cpu().data<double>().ToArray();
        return new SamplerImportanceSamplingResult(ratio.MoveToOuterDisposeScope(), SamplerImportanceSamplingStats.Of(difference, ratios));
    }

    private static void Validate(Tensor old, Tensor sampler, Tensor mask, SamplerImportanceSamplingMode mode, double? clipMax, double? clipMin)
    {
        if (old.dim() != 2)
            throw new ArgumentException($"oldLogProbs must be [batch, length] but has shape [{string.Join(", ", old.shape)}].", nameof(old));
        if (!sampler.shape.SequenceEqual(old.shape) || !mask.shape.SequenceEqual(old.shape))
            throw new ArgumentException(
                $"samplerLogProbs [{string.Join(", ", sampler.shape)}] and mask [{string.Join(", ", mask.shape)}] must have oldLogProbs' shape [{string.Join(", ", old.shape)}].",
                nameof(sampler));
        if (!Enum.IsDefined(mode))
            throw new ArgumentOutOfRangeException(nameof(mode), mode, "Use TokenTruncate, TokenMask, SequenceTruncate or SequenceMask.");
        if (clipMax is { } high && double.IsNaN(high) || clipMin is { } low && double.IsNaN(low))
            throw new ArgumentOutOfRangeException(nameof(clipMax), "The clip bounds must be numbers, or null for no bound.");
        if (clipMin is not null && clipMax is not null && clipMin >= clipMax)
            throw new ArgumentOutOfRangeException(nameof(clipMin), clipMin, $"clipMin must be below clipMax ({clipMax}).");
        if (mode is SamplerImportanceSamplingMode.TokenTruncate or SamplerImportanceSamplingMode.SequenceTruncate && clipMin is null && clipMax is null)
            throw new ArgumentException("A truncate mode needs clipMax or clipMin (or both); set one, or use a mask mode.", nameof(clipMax));
    }
}
