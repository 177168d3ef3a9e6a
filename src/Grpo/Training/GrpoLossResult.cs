using static TorchSharp.torch;

namespace Grpo.Training;

/// <summary>The loss of one micro-batch and the metrics TRL logs with it (names in parentheses).</summary>
public sealed record GrpoLossResult
{
    /// <summary>Scalar loss to call <c>backward()</c> on; already scaled for gradient accumulation.</summary>
    public required Tensor Loss { get; init; }

    /// <summary>Mean per-token k3 KL to the reference over mask-1 tokens (<c>kl</c>); null when β = 0.</summary>
    public double? Kl { get; init; }

    /// <summary>Mean per-token entropy over mask-1 tokens (<c>entropy</c>); null when no entropies were given.</summary>
    public double? Entropy { get; init; }

    /// <summary>Fraction of tokens (sequences, under GSPO) with ratio below 1 − ε and negative advantage (<c>clip_ratio/low_mean</c>).</summary>
    public required double ClipRatioLow { get; init; }

    /// <summary>Fraction with ratio above 1 + ε_high and positive advantage (<c>clip_ratio/high_mean</c>).</summary>
    public required double ClipRatioHigh { get; init; }

    /// <summary>Fraction clipped either way, so carrying no gradient (<c>clip_ratio/region_mean</c>).</summary>
    public required double ClipRatioRegion { get; init; }
}
