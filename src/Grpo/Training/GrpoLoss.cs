using TorchSharp;
using static TorchSharp.torch;

namespace Grpo.Training;

/// <summary>
/// The GRPO objective over one micro-batch, in every variant TRL v1.9.0's <c>GRPOTrainer._compute_loss</c> offers
/// (trl/trainer/grpo_trainer.py at tag v1.9.0), followed step for step: the loss types of <see cref="LossType"/>,
/// token- or sequence-level (GSPO) ratios, DAPO's clip-higher, INTELLECT-2's two-sided clip δ, the top-entropy token
/// mask, DeepSeek-V3.2's off-policy sequence mask and importance-corrected KL, the sampler-mismatch weight
/// (<see cref="SamplerImportanceSampling"/>) and the entropy bonus (<see cref="EntropyController"/>).
/// </summary>
/// <remarks>
/// Per token, with ratio r, advantage A, mask m (the clipped loss types):
/// <code>
/// r       = exp(logp − logp_old)                      token level
///         = exp(Σ_t m·(logp − logp_old) / max(Σ_t m, 1))  sequence level (GSPO), one r per completion
/// loss_t  = −min(min(r, δ)·A, clip(r, 1 − ε, 1 + ε_high)·A) · [off-policy mask] · [entropy mask] · [sampler weight]
///           + β·(exp(ref − logp) − (ref − logp) − 1) · [r, when bias-corrected]
/// </code>
/// then reduced by <see cref="LossType"/>, minus coef·H with the entropy bonus. Where TRL's code and the papers differ,
/// this class follows the code: δ caps the unclipped branch only and the clip metrics see the capped r; CISPO caps r at
/// ε_high, not 1 + ε_high; VESPO's sequence ratio sums the token log-ratios; LUSPO's mean runs over every position of
/// a per-token loss, padding included.
/// </remarks>
public sealed class GrpoLoss
{
    private readonly GrpoLossSettings _settings;

    /// <summary>The objective with these settings (<see cref="GrpoLossSettings.From"/> takes them from <see cref="GrpoOptions"/>).</summary>
    public GrpoLoss(GrpoLossSettings settings)
    {
        ArgumentNullException.ThrowIfNull(settings);
        settings.Validate();
        _settings = settings;
    }

    /// <summary>The settings this loss was built with.</summary>
    public GrpoLossSettings Settings => _settings;

    /// <summary>The loss of one micro-batch, ready for <c>backward()</c>, and its metrics.</summary>
    public GrpoLossResult Compute(GrpoLossInputs inputs)
    {
        Validate(inputs);
        var s = _settings;
        var logp = inputs.LogProbs; // [B, T]
        var mask = inputs.CompletionMask.to(logp.dtype); // [B, T]
        var advantages = inputs.Advantages.to(logp.dtype).unsqueeze(1); // [B, 1]
        var entropyMask = s.TopEntropyQuantile < 1.0
            ? HighEntropyMask(inputs.Entropies!, mask, 1 - s.TopEntropyQuantile).to(logp.dtype)
            : null;

        // With no recorded π_old (μ = 1, no other engine), π_old is π itself, detached: r = 1 with the gradient of r.
        var old = inputs.OldLogProbs ?? logp.detach();
        var offPolicyMask = s.OffPolicyMaskThreshold is { } threshold
            ? OffPolicyMask(advantages, logp, inputs.SamplerLogProbs ?? old, mask, threshold)
            : null;

        var logRatio = logp - old; // [B, T]
        var logWeights = s.ImportanceSamplingLevel == ImportanceSamplingLevel.Token
            ? logRatio
            : ((logRatio * mask).sum(-1) / mask.sum(-1).clamp_min(1.0)).unsqueeze(-1); // [B, 1]
        var ratio = logWeights.exp();

        Tensor? perTokenKl = null;
        if (s.Beta != 0.0)
        {
            // k3 estimator of KL(π ‖ π_ref) (Schulman): unbiased, always ≥ 0, exactly 0 where π = π_ref.
            var refMinusLogp = inputs.RefLogProbs!.to(logp.dtype) - logp;
            perTokenKl = refMinusLogp.exp() - refMinusLogp - 1;
            if (s.UseBiasCorrectionKl)
                perTokenKl = perTokenKl * ratio;
        }

        Tensor perTokenLoss;
        Tensor? phi = null;
        switch (s.LossType)
        {
            case LossType.Cispo:
                perTokenLoss = -ratio.clamp_max(s.EpsilonHigh).detach() * advantages * logp;
                break;
            case LossType.Sapo:
            {
                var temperatures = where(advantages.gt(0.0), full_like(advantages, s.SapoTemperaturePos), full_like(advantages, s.SapoTemperatureNeg));
                perTokenLoss = -(sigmoid(temperatures * (ratio - 1)) * 4 / temperatures) * advantages;
                break;
            }
            case LossType.Vespo:
                phi = GammaWeights(advantages, logRatio, mask, inputs.ImportanceSamplingRatio);
                perTokenLoss = -phi * advantages * logp;
                break;
            default:
            {
                var clipped = ratio.clamp(1 - s.Epsilon, 1 + s.EpsilonHigh);
                if (s.Delta is { } delta)
                    ratio = ratio.clamp_max(delta);
                perTokenLoss = -minimum(ratio * advantages, clipped * advantages);
                break;
            }
        }

        if (offPolicyMask is not null)
            perTokenLoss = perTokenLoss * offPolicyMask;
        if (entropyMask is not null)
            perTokenLoss = perTokenLoss * entropyMask;
        if (inputs.ImportanceSamplingRatio is { } samplerWeight && s.LossType != LossType.Vespo)
            perTokenLoss = perTokenLoss * samplerWeight.to(logp.dtype);
        if (perTokenKl is not null)
            perTokenLoss = perTokenLoss + s.Beta * perTokenKl;

        // Normalisers: the micro-batch's own (TRL), or the step's (CompletionsInStep given), so that a split step sums to
        // the one-big-batch loss; with the micro-batch's own, completions = B and each line is TRL's expression.
        var tokenNormalised = s.LossType is LossType.Dapo or LossType.Cispo or LossType.Vespo;
        var stepWide = inputs.CompletionsInStep is not null;
        var completions = (double)Math.Max(inputs.CompletionsInStep ?? perTokenLoss.shape[0], 1);
        var activeTokens = Math.Max(inputs.ActiveTokensInStep ?? mask.sum().to(ScalarType.Float64).item<double>(), 1.0);
        var policyLoss = s.LossType switch
        {
            LossType.Grpo or LossType.Sapo => ((perTokenLoss * mask).sum(-1) / mask.sum(-1).clamp_min(1.0)).sum() / completions,
            LossType.Bnpo when stepWide => (perTokenLoss * mask).sum() / activeTokens,
            LossType.Bnpo => (perTokenLoss * mask).sum() / mask.sum().clamp_min(1.0),
            LossType.DrGrpo => (perTokenLoss * mask).sum() / (completions * s.MaxCompletionLength),
            LossType.Dapo or LossType.Cispo or LossType.Vespo => (perTokenLoss * mask).sum() / activeTokens,
            LossType.Luspo => (perTokenLoss * mask.sum(1, keepdim: true)).sum() / (completions * perTokenLoss.shape[1]),
            _ => throw new InvalidOperationException($"Unknown loss type {s.LossType}."),
        };
        var loss = tokenNormalised || stepWide ? policyLoss : policyLoss / inputs.MicroBatchesInStep;

        double? entropySum = null, entropyTokens = null;
        if (s.EntropyBonus)
        {
            // The bonus is the mean per-token entropy over the tokens the policy term uses, whatever the loss type: summed
            // over the step's token count for the token-normalised types, a micro-batch mean over the step's micro-batches
            // for the others, so that either accumulates to the step's mean over an optimizer step.
            var effectiveMask = entropyMask is null ? mask : mask * entropyMask;
            var entropyTotal = (inputs.Entropies!.to(logp.dtype) * effectiveMask).sum();
            var entropyMean = entropyTotal / effectiveMask.sum().clamp_min(1.0);
            var entropyLoss = tokenNormalised ? entropyTotal / activeTokens
                : stepWide ? entropyMean * (mask.sum() / activeTokens)
                : entropyMean / inputs.MicroBatchesInStep;
            loss = loss - (inputs.EntropyCoefficient ?? s.EntropyCoef) * entropyLoss;
            entropySum = entropyTotal.detach().to(ScalarType.Float64).item<double>();
            entropyTokens = effectiveMask.sum().to(ScalarType.Float64).item<double>();
        }

        using var noGrad = no_grad();
        var result = new GrpoLossResult
        {
            Loss = loss,
            Kl = perTokenKl is null ? null : GlobalMaskedMean(perTokenKl, mask),
            Entropy = inputs.Entropies is null ? null : GlobalMaskedMean(inputs.Entropies, mask),
            VespoPhiSeqMean = phi is null ? null : GlobalMaskedMean(phi, mask),
            PolicyLoss = s.EntropyBonus ? policyLoss.to(ScalarType.Float64).item<double>() : null,
            EntropySum = entropySum,
            EntropyTokens = entropyTokens,
        };
        switch (s.LossType)
        {
            case LossType.Cispo:
                return result with { CispoClipRatio = GlobalMaskedMean(ratio.gt(s.EpsilonHigh).logical_and(advantages.gt(0.0)), mask) };
            case LossType.Sapo or LossType.Vespo:
                return result;
            default:
                var low = ratio.lt(1 - s.Epsilon).logical_and(advantages.lt(0.0));
                var high = ratio.gt(1 + s.EpsilonHigh).logical_and(advantages.gt(0.0));
                return result with
                {
                    ClipRatioLow = GlobalMaskedMean(low, mask),
                    ClipRatioHigh = GlobalMaskedMean(high, mask),
                    ClipRatioRegion = GlobalMaskedMean(low.logical_or(high), mask),
                    ClipRatioLowMin = NanExtreme(MaskedSequenceMean(low, mask), max: false),
                    ClipRatioHighMax = NanExtreme(MaskedSequenceMean(high, mask), max: true),
                };
        }
    }

    /// <summary>
    /// DeepSeek-V3.2's off-policy sequence mask (TRL <c>get_off_policy_mask</c>): [B, 1], 0 for a completion with negative
    /// advantage whose mean per-token log(π_sampler / π) over its mask-1 tokens exceeds the threshold, else 1.
    /// </summary>
    private static Tensor OffPolicyMask(Tensor advantages, Tensor logp, Tensor samplerLogProbs, Tensor mask, double threshold)
    {
        using var noGrad = no_grad();
        var kl = samplerLogProbs.to(logp.dtype) - logp.detach();
        var meanKl = (kl * mask).sum(1, keepdim: true) / mask.sum(1, keepdim: true).clamp_min(1.0);
        return advantages.ge(0.0).logical_or(meanKl.le(threshold)).to(mask.dtype);
    }

    /// <summary>
    /// VESPO's detached gamma weight per completion (TRL <c>get_gamma_weights</c>), [B, 1]: φ = exp(λ + k·log w − λ·w),
    /// log w = Σ_t m·clamp(log r_t, ±20) + Σ_t clamp(log ρ_t, log 1e-8, 20) (ρ the sampler weight, unmasked, as TRL),
    /// clamped to [log 1e-8, 20]; NaN and infinities become 0.
    /// </summary>
    private Tensor GammaWeights(Tensor advantages, Tensor logRatio, Tensor mask, Tensor? samplerWeight)
    {
        using var noGrad = no_grad();
        var s = _settings;
        var lower = Math.Log(1e-8);
        var logW = (logRatio.detach().clamp(-20.0, 20.0) * mask).sum(-1, keepdim: true);
        if (samplerWeight is not null)
            logW = logW + samplerWeight.to(logRatio.dtype).log().clamp(lower, 20.0).sum(-1, keepdim: true);
        logW = logW.clamp(lower, 20.0);
        var nonNegative = advantages.ge(0.0);
        var k = where(nonNegative, full_like(advantages, s.VespoKPos), full_like(advantages, s.VespoKNeg));
        var lambda = where(nonNegative, full_like(advantages, s.VespoLambdaPos), full_like(advantages, s.VespoLambdaNeg)).clamp_min(1e-4);
        return (lambda + k * logW - lambda * logW.exp()).exp().nan_to_num(0.0, 0.0, 0.0);
    }

    // TRL's global_masked_mean: the token mean over mask-1 tokens, or the plain mean over sequences for [B, 1] values.
    private static double GlobalMaskedMean(Tensor values, Tensor mask)
    {
        var x = values.to(ScalarType.Float64);
        var m = mask.to(ScalarType.Float64);
        return x.shape[1] == 1
            ? (x.sum() / Math.Max(x.shape[0], 1)).item<double>()
            : ((x * m).sum() / m.sum().clamp_min(1.0)).item<double>();
    }

    // TRL's masked_seq_mean: [B] per-completion token means (NaN for a completion with no mask-1 token).
    private static double[] MaskedSequenceMean(Tensor values, Tensor mask)
    {
        var x = values.to(ScalarType.Float64);
        var m = mask.to(ScalarType.Float64);
        var means = x.shape[1] == 1 ? x.squeeze(1) : (x * m).sum(-1) / m.sum(-1);
        return means.cpu().data<double>().ToArray();
    }

    // TRL's nanmin / nanmax: the extreme of the non-NaN values, NaN when there are none.
    private static double NanExtreme(double[] values, bool max)
    {
        var valid = values.Where(v => !double.IsNaN(v)).ToArray();
        return valid.Length == 0 ? double.NaN : max ? valid.Max() : valid.Min();
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
        return (entropies.detach() * mask.to(entropies.dtype)).ge(threshold).logical_and(active);
    }

    private void Validate(GrpoLossInputs inputs)
    {
        ArgumentNullException.ThrowIfNull(inputs);
        var s = _settings;
        var logp = inputs.LogProbs;
        if (logp.dim() != 2)
            throw new ArgumentException($"LogProbs must be [batch, length] but has shape {Shape(logp)}.", nameof(inputs));
        var (b, t) = (logp.shape[0], logp.shape[1]);
        SameShape(inputs.CompletionMask, nameof(inputs.CompletionMask));
        SameShape(inputs.OldLogProbs, nameof(inputs.OldLogProbs));
        SameShape(inputs.RefLogProbs, nameof(inputs.RefLogProbs));
        SameShape(inputs.SamplerLogProbs, nameof(inputs.SamplerLogProbs));
        SameShape(inputs.Entropies, nameof(inputs.Entropies));
        if (inputs.Advantages.dim() != 1 || inputs.Advantages.shape[0] != b)
            throw new ArgumentException($"Advantages must be [{b}], one per completion, but has shape {Shape(inputs.Advantages)}.", nameof(inputs));
        if (inputs.ImportanceSamplingRatio is { } isRatio)
        {
            if (isRatio.dim() != 2 || isRatio.shape[0] != b || (isRatio.shape[1] != t && isRatio.shape[1] != 1))
                throw new ArgumentException(
                    $"ImportanceSamplingRatio must be [{b}, {t}] (token modes) or [{b}, 1] (sequence modes) but has shape {Shape(isRatio)}.", nameof(inputs));
            if (s.LossType == LossType.Vespo && isRatio.shape[1] != t)
                throw new ArgumentException(
                    "The vespo loss folds the sampler weight into its per-token gamma weights, so it needs a token-level ratio; " +
                    "set SamplerImportanceSamplingMode to TokenTruncate or TokenMask.", nameof(inputs));
        }
        if (s.Beta != 0.0 && inputs.RefLogProbs is null)
            throw new ArgumentException($"Beta is {s.Beta}, so the KL term needs RefLogProbs (the model with its adapter off); set Beta to 0 to skip it.", nameof(inputs));
        if (s.TopEntropyQuantile < 1.0 && inputs.Entropies is null)
            throw new ArgumentException(
                $"TopEntropyQuantile is {s.TopEntropyQuantile}, so the loss needs Entropies (TokenLogProbs.ComputeWithEntropy); set it to 1 to keep every token.",
                nameof(inputs));
        if (s.EntropyBonus)
        {
            if (inputs.Entropies is null || (logp.requires_grad && !inputs.Entropies.requires_grad))
                throw new ArgumentException(
                    "The entropy bonus (EntropyCoef or UseAdaptiveEntropy) needs Entropies that carry a gradient: " +
                    "TokenLogProbs.ComputeWithEntropy(..., entropyGradient: true).", nameof(inputs));
            if (s.UseAdaptiveEntropy && inputs.EntropyCoefficient is null)
                throw new ArgumentException(
                    "Under UseAdaptiveEntropy the coefficient changes between steps: pass EntropyController.AppliedCoefficient as EntropyCoefficient.",
                    nameof(inputs));
        }
        if (inputs.EntropyCoefficient is { } coefficient && !double.IsFinite(coefficient))
            throw new ArgumentOutOfRangeException(nameof(inputs), coefficient, "EntropyCoefficient must be a finite number.");
        if (inputs.CompletionsInStep is < 1)
            throw new ArgumentOutOfRangeException(nameof(inputs), inputs.CompletionsInStep, "CompletionsInStep must be 1 or more, or null for TRL's per-micro-batch normalisers.");
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
