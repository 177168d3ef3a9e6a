using static TorchSharp.torch;

namespace Grpo.Training;

/// <summary>
/// The loss of one micro-batch and the metrics TRL v1.9.0's <c>_compute_loss</c> logs for it (names in parentheses).
/// A metric TRL does not log under the settings in use is null. TRL averages each metric over the micro-batches of a
/// logging window; so should the caller.
/// </summary>
public sealed record GrpoLossResult
{
    /// <summary>Scalar loss to call <c>backward()</c> on; already scaled for gradient accumulation.</summary>
    public required Tensor Loss { get; init; }

    /// <summary>Mean per-token k3 KL to the reference over mask-1 tokens, importance-weighted under <see cref="GrpoLossSettings.UseBiasCorrectionKl"/> (<c>kl</c>); null when β = 0.</summary>
    public double? Kl { get; init; }

    /// <summary>Mean per-token entropy over mask-1 tokens (<c>entropy</c>); null when no entropies were given.</summary>
    public double? Entropy { get; init; }

    /// <summary>
    /// Fraction of tokens (sequences, under GSPO) with ratio below 1 − ε and negative advantage (<c>clip_ratio/low_mean</c>);
    /// grpo, bnpo, dr_grpo, dapo and luspo only.
    /// </summary>
    public double? ClipRatioLow { get; init; }

    /// <summary>Fraction with ratio above 1 + ε_high and positive advantage (<c>clip_ratio/high_mean</c>); as <see cref="ClipRatioLow"/>.</summary>
    public double? ClipRatioHigh { get; init; }

    /// <summary>Fraction clipped either way, so carrying no gradient (<c>clip_ratio/region_mean</c>); as <see cref="ClipRatioLow"/>.</summary>
    public double? ClipRatioRegion { get; init; }

    /// <summary>The smallest per-completion share of low-clipped tokens, completions with no tokens left out (<c>clip_ratio/low_min</c>).</summary>
    public double? ClipRatioLowMin { get; init; }

    /// <summary>The largest per-completion share of high-clipped tokens, completions with no tokens left out (<c>clip_ratio/high_max</c>).</summary>
    public double? ClipRatioHighMax { get; init; }

    /// <summary>cispo: fraction of tokens whose ratio exceeds ε_high with positive advantage (<c>cispo_clip_ratio</c>).</summary>
    public double? CispoClipRatio { get; init; }

    /// <summary>vespo: mean gamma weight φ over completions (<c>vespo/phi_seq_mean</c>).</summary>
    public double? VespoPhiSeqMean { get; init; }

    /// <summary>With the entropy bonus on: the policy term before the bonus and before the accumulation scaling (<c>policy_loss</c>).</summary>
    public double? PolicyLoss { get; init; }

    /// <summary>With the entropy bonus on: Σ entropy over the tokens the bonus used, for <see cref="EntropyController.Update"/>.</summary>
    public double? EntropySum { get; init; }

    /// <summary>With the entropy bonus on: the count of tokens the bonus used, for <see cref="EntropyController.Update"/>.</summary>
    public double? EntropyTokens { get; init; }

    /// <summary>
    /// The metrics under TRL's names, leaving out those TRL does not log under these settings. <c>entropy_coef</c> is
    /// logged once per optimizer step from <see cref="EntropyController.Metrics"/>, not here.
    /// </summary>
    public IReadOnlyDictionary<string, double> ToDictionary()
    {
        var metrics = new Dictionary<string, double>();
        Add("kl", Kl);
        Add("entropy", Entropy);
        Add("clip_ratio/low_mean", ClipRatioLow);
        Add("clip_ratio/high_mean", ClipRatioHigh);
        Add("clip_ratio/region_mean", ClipRatioRegion);
        Add("clip_ratio/low_min", ClipRatioLowMin);
        Add("clip_ratio/high_max", ClipRatioHighMax);
        Add("cispo_clip_ratio", CispoClipRatio);
        Add("vespo/phi_seq_mean", VespoPhiSeqMean);
        Add("policy_loss", PolicyLoss);
        return metrics;

        void Add(string name, double? value)
        {
            if (value is { } v) metrics[name] = v;
        }
    }
}
