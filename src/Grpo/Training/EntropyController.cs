namespace Grpo.Training;

/// <summary>
/// The entropy bonus's coefficient across optimizer steps: fixed at <see cref="GrpoOptions.EntropyCoef"/>, or, under
/// <see cref="GrpoOptions.UseAdaptiveEntropy"/>, Skywork-OR1's adaptive control (arXiv:2505.22312) as TRL v1.9.0 codes
/// it. Its state (<see cref="Coefficient"/>, <see cref="LastEntropy"/>) belongs in a checkpoint (TRL writes it to
/// <c>entropy_ctrl_state.json</c>); <see cref="Restore"/> puts it back.
/// </summary>
/// <remarks>
/// Per optimizer step: every micro-batch applies <see cref="AppliedCoefficient"/>, decided at the end of the previous
/// step (under adaptive control, <see cref="Coefficient"/> while the last step's entropy was at or below the target, else
/// 0; no bonus before the first measurement); at the step's end <see cref="Update"/> takes the step's mean entropy over
/// the tokens the bonus used and moves the coefficient by δ: up (to at most the maximum) when that entropy is at or
/// below the target, down (to at least the minimum) otherwise.
/// </remarks>
public sealed class EntropyController
{
    /// <summary>A fixed coefficient, or adaptive control starting at <paramref name="coefficient"/>.</summary>
    public EntropyController(double coefficient, bool adaptive = false, double minimum = 0.0, double maximum = 1.0, double delta = 0.005, double target = 0.2)
    {
        if (!double.IsFinite(coefficient))
            throw new ArgumentOutOfRangeException(nameof(coefficient), coefficient, "Use a finite entropy coefficient.");
        if (!(double.IsFinite(minimum) && double.IsFinite(maximum) && minimum <= maximum))
            throw new ArgumentOutOfRangeException(nameof(minimum), minimum, $"Use finite bounds with minimum ≤ maximum (maximum is {maximum}).");
        if (!(double.IsFinite(delta) && delta >= 0))
            throw new ArgumentOutOfRangeException(nameof(delta), delta, "Use a step of 0 or more, such as 0.005.");
        if (!double.IsFinite(target))
            throw new ArgumentOutOfRangeException(nameof(target), target, "Use a finite target entropy in nats.");
        Coefficient = coefficient;
        Adaptive = adaptive;
        Minimum = minimum;
        Maximum = maximum;
        Delta = delta;
        Target = target;
    }

    /// <summary>The controller <see cref="GrpoOptions"/> describes.</summary>
    public static EntropyController From(GrpoOptions options)
    {
        ArgumentNullException.ThrowIfNull(options);
        return new EntropyController(options.EntropyCoef, options.UseAdaptiveEntropy, options.EntropyCoefMin, options.EntropyCoefMax,
            options.EntropyCoefDelta, options.EntropyTarget);
    }

    /// <summary>Whether the coefficient adapts (<c>use_adaptive_entropy</c>).</summary>
    public bool Adaptive { get; }

    /// <summary>Lower bound of the coefficient (<c>entropy_coef_min</c>).</summary>
    public double Minimum { get; }

    /// <summary>Upper bound of the coefficient (<c>entropy_coef_max</c>).</summary>
    public double Maximum { get; }

    /// <summary>Change per step (<c>entropy_coef_delta</c>).</summary>
    public double Delta { get; }

    /// <summary>Target mean entropy in nats (<c>entropy_target</c>).</summary>
    public double Target { get; }

    /// <summary>The current coefficient (TRL's mutable <c>entropy_coef</c>, logged as <c>entropy_coef</c>).</summary>
    public double Coefficient { get; private set; }

    /// <summary>The mean entropy of the last optimizer step; +∞ before the first (TRL <c>_last_world_entropy</c>).</summary>
    public double LastEntropy { get; private set; } = double.PositiveInfinity;

    /// <summary>What every micro-batch of the current step multiplies the entropy bonus by (<see cref="GrpoLossInputs.EntropyCoefficient"/>).</summary>
    public double AppliedCoefficient => !Adaptive || LastEntropy <= Target ? Coefficient : 0.0;

    /// <summary>
    /// At the end of an optimizer step: the step's entropy sum and token count over the tokens the bonus used (the sums of
    /// <see cref="GrpoLossResult.EntropySum"/> and <see cref="GrpoLossResult.EntropyTokens"/> over its micro-batches).
    /// Moves the coefficient under adaptive control; does nothing otherwise.
    /// </summary>
    public void Update(double entropySum, double tokenCount)
    {
        if (!Adaptive) return;
        var entropy = entropySum / Math.Max(tokenCount, 1.0);
        Coefficient = entropy <= Target ? Math.Min(Coefficient + Delta, Maximum) : Math.Max(Coefficient - Delta, Minimum);
        LastEntropy = entropy;
    }

    /// <summary>Puts back the state saved from <see cref="Coefficient"/> and <see cref="LastEntropy"/> (resuming from a checkpoint).</summary>
    public void Restore(double coefficient, double lastEntropy)
    {
        if (!double.IsFinite(coefficient))
            throw new ArgumentOutOfRangeException(nameof(coefficient), coefficient, "The saved entropy coefficient must be finite; the checkpoint is damaged.");
        if (double.IsNaN(lastEntropy))
            throw new ArgumentOutOfRangeException(nameof(lastEntropy), lastEntropy, "The saved last entropy is NaN; the checkpoint is damaged.");
        Coefficient = coefficient;
        LastEntropy = lastEntropy;
    }

    /// <summary>The metric TRL logs at each optimizer step while the bonus is on (<c>entropy_coef</c>, after <see cref="Update"/>).</summary>
    public IReadOnlyDictionary<string, double> Metrics() => new Dictionary<string, double> { ["entropy_coef"] = Coefficient };
}
