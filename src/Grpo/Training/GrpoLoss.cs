using TorchSharp;
using static TorchSharp.torch;

namespace Grpo.Training;

/// <summary>
/// The clipped, KL-regularised GRPO objective over one micro-batch, in every variant TRL offers: the loss types grpo, bnpo,
/// dr_grpo and dapo, token- or sequence-level (GSPO) ratios, DAPO's clip-higher, INTELLECT-2's two-sided clip δ and the
/// top-entropy token mask. Follows TRL's <c>GRPOTrainer._compute_loss</c> (trl/trainer/grpo_trainer.py, checked at
/// huggingface/trl commit d2b69d7; later versions keep these formulas and add further loss types) step for step.
/// </summary>
/// <remarks>
/// Per token, with ratio r, advantage A, mask m:
/// <code>
/// r       = exp(logp − logp_old)                      token level
///         = exp(Σ_t m·(logp − logp_old) / max(Σ_t m, 1))  sequence level (GSPO), one r per completion
/// loss_t  = −min(min(r, δ)·A, clip(r, 1 − ε, 1 + ε_high)·A)  [· entropy mask]  + β·(exp(ref − logp) − (ref − logp) − 1)
/// </code>
/// then reduced by <see cref="LossType"/>. TRL clips with the uncapped r and applies δ to the unclipped branch only, and
/// so does this class; the clip-ratio metrics see the capped r, as TRL's do.
/// </remarks>
public sealed class GrpoLoss
{
    private readonly double _beta;
    private readonly double _epsilonLow;
    private readonly double _epsilonHigh;
    private readonly double? _delta;
    private readonly LossType _lossType;
    private readonly ImportanceSamplingLevel _level;
    private readonly int _maxCompletionLength;
    private readonly double _topEntropyQuantile;

    /// <summary>Takes β, ε, ε_high, δ, the loss type, the importance level, the max completion length and ρ from validated options.</summary>
    public GrpoLoss(GrpoOptions options)
    {
        ArgumentNullException.ThrowIfNull(options);
        options.Validate();
        _beta = options.Beta;
        _epsilonLow = options.Epsilon;
        _epsilonHigh = options.EffectiveEpsilonHigh;
        _delta = options.Delta;
        _lossType = options.LossType;
        _level = options.ImportanceSamplingLevel;
        _maxCompletionLength = options.MaxCompletionLength;
        _topEntropyQuantile = options.TopEntropyQuantile;
    }

    /// <summary>The loss of one micro-batch, ready for <c>backward()</c>, and its metrics.</summary>
    public GrpoLossResult Compute(GrpoLossInputs inputs)
    {
        Validate(inputs);
        var logp = inputs.LogProbs; // [B, T]
        var mask = inputs.CompletionMask.to(logp.dtype); // [B, T]
        var advantages = inputs.Advantages.to(logp.dtype).unsqueeze(1); // [B, 1]

        // Policy ratio. With no recorded π_old (μ = 1), π_old is π itself, detached: r = 1 with the gradient of r.
        var old = inputs.OldLogProbs ?? logp.detach();
        var logRatio = logp - old; // [B, T]
        var logWeights = _level == ImportanceSamplingLevel.Token
            ? logRatio
            : ((logRatio * mask).sum(-1) / mask.sum(-1).clamp_min(1.0)).unsqueeze(1); // [B, 1]
        var ratio = logWeights.exp();
        var clipped = ratio.clamp(1 - _epsilonLow, 1 + _epsilonHigh);
        if (_delta is { } delta)
            ratio = ratio.clamp_max(delta);
        var perTokenLoss = -minimum(ratio * advantages, clipped * advantages); // [B, T] or [B, 1]

        if (_topEntropyQuantile < 1.0)
            perTokenLoss = perTokenLoss * HighEntropyMask(inputs.Entropies!, mask, 1 - _topEntropyQuantile).to(logp.dtype);

        Tensor? perTokenKl = null;
        if (_beta != 0.0)
        {
            // k3 estimator of KL(π ‖ π_ref) (Schulman): unbiased, always ≥ 0, exactly 0 where π = π_ref.
            var refMinusLogp = inputs.RefLogProbs! - logp;
            perTokenKl = refMinusLogp.exp() - refMinusLogp - 1;
            perTokenLoss = perTokenLoss + _beta * perTokenKl;
        }

        var maskedLoss = perTokenLoss * mask; // [B, T]
        var loss = _lossType switch
        {
            LossType.Grpo => (maskedLoss.sum(-1) / mask.sum(-1).clamp_min(1.0)).mean() / inputs.MicroBatchesInStep,
            LossType.Bnpo => maskedLoss.sum() / mask.sum().clamp_min(1.0) / inputs.MicroBatchesInStep,
            LossType.DrGrpo => maskedLoss.sum() / ((double)logp.shape[0] * _maxCompletionLength) / inputs.MicroBatchesInStep,
            LossType.Dapo => maskedLoss.sum() / Math.Max(inputs.ActiveTokensInStep ?? mask.sum().to(ScalarType.Float64).item<double>(), 1.0),
            _ => throw new InvalidOperationException($"Unknown loss type {_lossType}."),
        };

        using var noGrad = no_grad();
        var lowClipped = ratio.lt(1 - _epsilonLow).logical_and(advantages.lt(0.0));
        var highClipped = ratio.gt(1 + _epsilonHigh).logical_and(advantages.gt(0.0));
        return new GrpoLossResult
        {
            Loss = loss,
            Kl = perTokenKl is null ? null : MaskedBatchMean(perTokenKl, mask),
            Entropy = inputs.Entropies is null ? null : MaskedBatchMean(inputs.Entropies, mask),
            ClipRatioLow = MaskedBatchMean(lowClipped, mask),
            ClipRatioHigh = MaskedBatchMean(highClipped, mask),
            ClipRatioRegion = MaskedBatchMean(lowClipped.logical_or(highClipped), mask),
        };
    }

    // TRL's masked_batch_mean: the token mean over mask-1 tokens, or the plain mean over sequences for [B, 1] values.
    private static double MaskedBatchMean(Tensor values, Tensor mask)
    {
        var x = values.to(ScalarType.Float64);
        var m = mask.to(ScalarType.Float64);
        return x.shape[1] == 1
            ? x.mean().item<double>()
            : ((x * m).sum() / m.sum().clamp_min(1.0)).item<double>();
    }

    /// <summary>
    /// Tokens whose entropy is at least the <paramref name="quantile"/> quantile (linear interpolation, as
    /// <c>torch.quantile</c>) of the entropies of the mask-1 tokens of the micro-batch; TRL's <c>get_high_entropy_mask</c>.
    /// </summary>
    private static Tensor HighEntropyMask(Tensor entropies, Tensor mask, double quantile)
    {
        using var noGrad = no_grad();
        var active = mask.to(ScalarType.Bool);
        var values = entropies.masked_select(active).to(ScalarType.Float64).cpu().data<double>().ToArray();
        if (values.Length == 0)
            return zeros_like(active);
        Array.Sort(values);
        var position = quantile * (values.Length - 1);
        var below = (int)Math.Floor(position);
        var above = Math.Min(below + 1, values.Length - 1);
        var threshold = values[below] + (position - below) * (values[above] - values[below]);
        return (entropies * mask.to(entropies.dtype)).ge(threshold).logical_and(active);
    }

    private void Validate(GrpoLossInputs inputs)
    {
        ArgumentNullException.ThrowIfNull(inputs);
        var logp = inputs.LogProbs;
        if (logp.dim() != 2)
            throw new ArgumentException($"LogProbs must be [batch, length] but has shape {Shape(logp)}.", nameof(inputs));
        var (b, t) = (logp.shape[0], logp.shape[1]);
        SameShape(inputs.CompletionMask, nameof(inputs.CompletionMask));
        SameShape(inputs.OldLogProbs, nameof(inputs.OldLogProbs));
        SameShape(inputs.RefLogProbs, nameof(inputs.RefLogProbs));
        SameShape(inputs.Entropies, nameof(inputs.Entropies));
        if (inputs.Advantages.dim() != 1 || inputs.Advantages.shape[0] != b)
            throw new ArgumentException($"Advantages must be [{b}], one per completion, but has shape {Shape(inputs.Advantages)}.", nameof(inputs));
        if (_beta != 0.0 && inputs.RefLogProbs is null)
            throw new ArgumentException($"Beta is {_beta}, so the KL term needs RefLogProbs (the model with its adapter off); set Beta to 0 to skip it.", nameof(inputs));
        if (_topEntropyQuantile < 1.0 && inputs.Entropies is null)
            throw new ArgumentException(
                $"TopEntropyQuantile is {_topEntropyQuantile}, so the loss needs Entropies (TokenLogProbs.ComputeWithEntropy); set it to 1 to keep every token.",
                nameof(inputs));
        if (inputs.MicroBatchesInStep < 1)
            throw new ArgumentOutOfRangeException(nameof(inputs), inputs.MicroBatchesInStep, "MicroBatchesInStep must be 1 or more.");
        if (inputs.ActiveTokensInStep is { } active && !(active >= 0))
            throw new ArgumentOutOfRangeException(nameof(inputs), active, "ActiveTokensInStep must be a token count of 0 or more.");

        void SameShape(Tensor? tensor, string name)
        {
            if (tensor is not null && (tensor.dim() != 2 || tensor.shape[0] != b || tensor.shape[1] != t))
                throw new ArgumentException($"{name} must be [{b}, {t}] like LogProbs but has shape {Shape(tensor)}.", nameof(inputs));
        }
    }

    private static string Shape(Tensor tensor) => $"[{string.Join(", ", tensor.shape)}]";
}
