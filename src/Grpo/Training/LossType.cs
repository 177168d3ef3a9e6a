namespace Grpo.Training;

/// <summary>
/// How the per-token losses of a batch are reduced to one number. They differ only in the denominator, and the
/// denominator decides how much a long completion weighs against a short one (the "length bias").
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
}
