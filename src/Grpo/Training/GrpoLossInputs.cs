using static TorchSharp.torch;

namespace Grpo.Training;

/// <summary>
/// One micro-batch of completions for <see cref="GrpoLoss"/>: B completions padded to T tokens.
/// </summary>
public sealed record GrpoLossInputs
{
    /// <summary>[B, T] log-probs of the sampled tokens under the policy being trained, with gradient (<see cref="TokenLogProbs"/>).</summary>
    public required Tensor LogProbs { get; init; }

    /// <summary>
    /// [B, T] log-probs recorded when the completions were sampled (π_old), no gradient. Null when μ = 1 and the batch is
    /// used at once: π_old is then the current policy, detached, and the ratio is exactly 1.
    /// </summary>
    public Tensor? OldLogProbs { get; init; }

    /// <summary>[B, T] log-probs under the reference policy (the model with its adapter off), no gradient. Null when β = 0.</summary>
    public Tensor? RefLogProbs { get; init; }

    /// <summary>[B] advantage of each completion (<see cref="Advantages.Values"/>).</summary>
    public required Tensor Advantages { get; init; }

    /// <summary>[B, T] 1 on completion tokens that count (up to and including EOS; truncated ones already zeroed when masking them), 0 on padding.</summary>
    public required Tensor CompletionMask { get; init; }

    /// <summary>
    /// [B, T] log-probs the sampler reported for its own tokens (TRL <c>sampling_per_token_logps</c>), no gradient; kept
    /// apart from <see cref="OldLogProbs"/>, the trainer's own forward pass. Used by the off-policy mask
    /// (<see cref="GrpoLossSettings.OffPolicyMaskThreshold"/>), which falls back to π_old without them.
    /// </summary>
    public Tensor? SamplerLogProbs { get; init; }

    /// <summary>
    /// The sampler-mismatch weight π_old / π_sampler (<see cref="SamplerImportanceSampling.Compute"/>): [B, T] for the token
    /// modes, [B, 1] for the sequence modes. Null: no correction. The policy term is multiplied by it, except under
    /// <see cref="LossType.Vespo"/>, which folds it into its gamma weights (token modes only), as TRL does.
    /// </summary>
    public Tensor? ImportanceSamplingRatio { get; init; }

    /// <summary>
    /// [B, T] entropy of each position's distribution (<see cref="TokenLogProbs.ComputeWithEntropy"/>): needed when
    /// <see cref="GrpoLossSettings.TopEntropyQuantile"/> is below 1, and for the entropy bonus, where it must carry a
    /// gradient; reported as the <c>entropy</c> metric when given.
    /// </summary>
    public Tensor? Entropies { get; init; }

    /// <summary>
    /// The entropy-bonus coefficient to apply to this micro-batch: <see cref="EntropyController.AppliedCoefficient"/>,
    /// fixed for the whole optimizer step. Null: <see cref="GrpoLossSettings.EntropyCoef"/> (required to be given under
    /// adaptive control).
    /// </summary>
    public double? EntropyCoefficient { get; init; }

    /// <summary>
    /// The count of mask-1 tokens in the whole generation batch that this micro-batch belongs to (TRL
    /// <c>num_items_in_batch</c>): the denominator of <see cref="LossType.Dapo"/>, <see cref="LossType.Cispo"/> and
    /// <see cref="LossType.Vespo"/>, and with <see cref="CompletionsInStep"/> of <see cref="LossType.Bnpo"/> too, so that
    /// summing the micro-batch losses of one step gives exactly the step's token mean. Null: this micro-batch's own count
    /// (a step of one micro-batch).
    /// </summary>
    public double? ActiveTokensInStep { get; init; }

    /// <summary>
    /// TRL's convention for the other loss types (and their entropy bonus) when <see cref="CompletionsInStep"/> is null:
    /// the micro-batches accumulated into one optimizer step; each micro-batch's loss is divided by it, as TRL divides by
    /// <c>gradient_accumulation_steps</c>. Default 1. Exact for the step only when the micro-batches are equal.
    /// </summary>
    public int MicroBatchesInStep { get; init; } = 1;

    /// <summary>
    /// The completions in the whole generation batch. When given, every loss type is normalised over the step instead of
    /// the micro-batch, so that the micro-batch losses sum to the one-big-batch loss however the step was split (unequal,
    /// token-budget micro-batches): grpo / sapo divide the sum of per-completion means by it, bnpo divides by
    /// <see cref="ActiveTokensInStep"/> (TRL's bnpo normalises per micro-batch, which depends on the split), dr_grpo by it
    /// × <see cref="GrpoLossSettings.MaxCompletionLength"/>, luspo by it × the padded width, and the entropy bonus of the
    /// non-token-normalised types weighs the micro-batch's mean by its share of the step's tokens.
    /// <see cref="MicroBatchesInStep"/> is then not used. Null: TRL's per-micro-batch convention.
    /// </summary>
    public int? CompletionsInStep { get; init; }
}
