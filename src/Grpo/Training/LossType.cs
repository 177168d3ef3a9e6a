namespace Grpo.Training;

/// <summary>
/// The per-token objective and how the per-token losses of a batch are reduced to one number. grpo, bnpo, dr_grpo and
/// dapo share PPO's clipped objective and differ only in the denominator, which decides how much a long completion
/// weighs against a short one (the "length bias"); cispo, sapo, luspo and vespo change the objective itself. Names and
/// formulas follow TRL v1.9.0's <c>GRPOTrainer._compute_loss</c>.
/// </summary>
public enum LossType
{
    /// <summary>
    /// Mean over sequences of each sequence's token mean (TRL <c>"grpo"</c>, DeepSeekMath). Every completion weighs the same
    /// whatever its length, so each token of a long completion weighs less: long wrong answers are punished too little.
    /// </summary>
    Grpo,

    /// <summary>Token sum over the token count of the micro-batch (TRL <c>"bnpo"</c>). Depends on how the batch is split.</summary>
    Bnpo,

    /// <summary>
    /// Token sum over (sequences in the micro-batch × max completion length) (TRL <c>"dr_grpo"</c>, Dr. GRPO,
    /// arXiv:2503.20783): a constant denominator, so no length bias.
    /// </summary>
    DrGrpo,

    /// <summary>
    /// Token sum over the active tokens of the whole generation batch (TRL <c>"dapo"</c>, DAPO token-level policy gradient,
    /// arXiv:2503.14476). Every token weighs the same, and gradient accumulation over micro-batches is exact. TRL's default.
    /// </summary>
    Dapo,

    /// <summary>
    /// CISPO (TRL <c>"cispo"</c>, MiniMax-M1, arXiv:2506.13585): −min(r, ε_high)·A·log π per token, the clipped ratio
    /// detached, so every token keeps a gradient; reduced as <see cref="Dapo"/>. As in TRL's code, the cap is
    /// <see cref="GrpoOptions.EpsilonHigh"/> itself (ScaleRL recommends 5.0), not 1 + ε_high.
    /// </summary>
    Cispo,

    /// <summary>
    /// SAPO (TRL <c>"sapo"</c>, Soft Adaptive Policy Optimization, arXiv:2511.20347): hard clipping replaced by the smooth
    /// gate −σ(τ·(r − 1))·4/τ·A, τ = <see cref="GrpoOptions.SapoTemperaturePos"/> where A &gt; 0 and
    /// <see cref="GrpoOptions.SapoTemperatureNeg"/> otherwise; reduced as <see cref="Grpo"/>.
    /// </summary>
    Sapo,

    /// <summary>
    /// LUSPO (TRL <c>"luspo"</c>, Length-Unbiased Sequence Policy Optimization, arXiv:2602.05261): the clipped objective
    /// with each sequence's loss multiplied by its length, then the plain mean of that tensor (over sequences at the
    /// sequence level, over every position, padding included, when the loss is per token, as TRL's code does). Meant
    /// for <see cref="ImportanceSamplingLevel.Sequence"/>.
    /// </summary>
    Luspo,

    /// <summary>
    /// VESPO (TRL <c>"vespo"</c>, arXiv:2602.10693): −φ(w)·A·log π with the detached gamma weight
    /// φ(w) = e^λ·w^k·e^(−λw) of the sequence ratio w = exp Σ_t log(π/π_old) (a sum, not GSPO's mean; sampler
    /// importance ratios are folded into w rather than multiplied afterwards); k and λ by the advantage's sign
    /// (<see cref="GrpoOptions.VespoKPos"/> …). Reduced as <see cref="Dapo"/>. Meant for <see cref="ImportanceSamplingLevel.Token"/>.
    /// </summary>
    Vespo,
}
