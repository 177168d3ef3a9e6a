namespace Grpo.Training;

/// <summary>
/// What <see cref="GrpoLoss"/> needs to know, and nothing else: the objective's part of <see cref="GrpoOptions"/>.
/// Defaults are TRL v1.9.0's <c>GRPOConfig</c> defaults; each property is documented on its <see cref="GrpoOptions"/>
/// namesake.
/// </summary>
public sealed record GrpoLossSettings
{
    /// <inheritdoc cref="GrpoOptions.LossType"/>
    public LossType LossType { get; init; } = LossType.Dapo;

    /// <inheritdoc cref="GrpoOptions.ImportanceSamplingLevel"/>
    public ImportanceSamplingLevel ImportanceSamplingLevel { get; init; } = ImportanceSamplingLevel.Token;

    /// <inheritdoc cref="GrpoOptions.Beta"/>
    public double Beta { get; init; }

    /// <inheritdoc cref="GrpoOptions.Epsilon"/>
    public double Epsilon { get; init; } = 0.2;

    /// <summary>The upper clip ε_high in effect (<c>epsilon_high</c>, already defaulted to ε); for cispo, the cap on the ratio itself.</summary>
    public double EpsilonHigh { get; init; } = 0.2;

    /// <inheritdoc cref="GrpoOptions.Delta"/>
    public double? Delta { get; init; }

    /// <summary>The dr_grpo denominator's length (<c>max_completion_length</c>). Default 256, TRL's default.</summary>
    public int MaxCompletionLength { get; init; } = 256;

    /// <inheritdoc cref="GrpoOptions.TopEntropyQuantile"/>
    public double TopEntropyQuantile { get; init; } = 1.0;

    /// <inheritdoc cref="GrpoOptions.SapoTemperaturePos"/>
    public double SapoTemperaturePos { get; init; } = 1.0;

    /// <inheritdoc cref="GrpoOptions.SapoTemperatureNeg"/>
    public double SapoTemperatureNeg { get; init; } = 1.05;

    /// <inheritdoc cref="GrpoOptions.VespoKPos"/>
    public double VespoKPos { get; init; } = 2.0;

    /// <inheritdoc cref="GrpoOptions.VespoLambdaPos"/>
    public double VespoLambdaPos { get; init; } = 3.0;

    /// <inheritdoc cref="GrpoOptions.VespoKNeg"/>
    public double VespoKNeg { get; init; } = 3.0;

    /// <inheritdoc cref="GrpoOptions.VespoLambdaNeg"/>
    public double VespoLambdaNeg { get; init; } = 2.0;

    /// <inheritdoc cref="GrpoOptions.UseBiasCorrectionKl"/>
    public bool UseBiasCorrectionKl { get; init; }

    /// <inheritdoc cref="GrpoOptions.OffPolicyMaskThreshold"/>
    public double? OffPolicyMaskThreshold { get; init; }

    /// <inheritdoc cref="GrpoOptions.EntropyCoef"/>
    public double EntropyCoef { get; init; }

    /// <inheritdoc cref="GrpoOptions.UseAdaptiveEntropy"/>
    public bool UseAdaptiveEntropy { get; init; }

    /// <summary>
    /// Whether the entropy bonus term is in the loss: a non-zero <see cref="EntropyCoef"/>, or adaptive control (which
    /// keeps the term even while its coefficient sits at 0, so it can come back). The policy's entropies must then carry
    /// a gradient (<see cref="TokenLogProbs.ComputeWithEntropy"/> with <c>entropyGradient: true</c>).
    /// </summary>
    public bool EntropyBonus => EntropyCoef != 0.0 || UseAdaptiveEntropy;

    /// <summary>The objective's settings from validated options.</summary>
    public static GrpoLossSettings From(GrpoOptions options)
    {
        ArgumentNullException.ThrowIfNull(options);
        options.Validate();
        return new GrpoLossSettings
        {
            LossType = options.LossType,
            ImportanceSamplingLevel = options.ImportanceSamplingLevel,
            Beta = options.Beta,
            Epsilon = options.Epsilon,
            EpsilonHigh = options.EffectiveEpsilonHigh,
            Delta = options.Delta,
            MaxCompletionLength = options.MaxCompletionLength,
            TopEntropyQuantile = options.TopEntropyQuantile,
            SapoTemperaturePos = options.SapoTemperaturePos,
            SapoTemperatureNeg = options.SapoTemperatureNeg,
            VespoKPos = options.VespoKPos,
            VespoLambdaPos = options.VespoLambdaPos,
            VespoKNeg = options.VespoKNeg,
            VespoLambdaNeg = options.VespoLambdaNeg,
            UseBiasCorrectionKl = options.UseBiasCorrectionKl,
            OffPolicyMaskThreshold = options.OffPolicyMaskThreshold,
            EntropyCoef = options.EntropyCoef,
            UseAdaptiveEntropy = options.UseAdaptiveEntropy,
        };
    }

    /// <summary>Throws <see cref="ArgumentOutOfRangeException"/> naming the first setting out of range and how to fix it.</summary>
    public void Validate()
    {
        Check(Enum.IsDefined(LossType), LossType, nameof(LossType), "use Grpo, Bnpo, DrGrpo, Dapo, Cispo, Sapo, Luspo or Vespo");
        Check(Enum.IsDefined(ImportanceSamplingLevel), ImportanceSamplingLevel, nameof(ImportanceSamplingLevel), "use Token or Sequence");
        Check(double.IsFinite(Beta) && Beta >= 0, Beta, nameof(Beta), "use 0 or a small positive weight such as 0.001");
        Check(Epsilon > 0 && Epsilon < 1, Epsilon, nameof(Epsilon), "use a clip range in (0, 1), typically 0.2");
        Check(double.IsFinite(EpsilonHigh) && EpsilonHigh > 0, EpsilonHigh, nameof(EpsilonHigh), "use a positive value (0.28 for DAPO, 5.0 for CISPO)");
        Check(Delta is null || (double.IsFinite(Delta.Value) && Delta > 1), Delta, nameof(Delta), "use a cap above 1, or null to turn it off");
        Check(MaxCompletionLength >= 1, MaxCompletionLength, nameof(MaxCompletionLength), "allow at least one generated token");
        Check(TopEntropyQuantile >= 0 && TopEntropyQuantile <= 1, TopEntropyQuantile, nameof(TopEntropyQuantile), "use a fraction in [0, 1]");
        Check(double.IsFinite(SapoTemperaturePos) && SapoTemperaturePos > 0, SapoTemperaturePos, nameof(SapoTemperaturePos), "use a positive temperature");
        Check(double.IsFinite(SapoTemperatureNeg) && SapoTemperatureNeg > 0, SapoTemperatureNeg, nameof(SapoTemperatureNeg), "use a positive temperature");
        Check(double.IsFinite(VespoKPos) && double.IsFinite(VespoKNeg), VespoKPos, nameof(VespoKPos), "use finite VESPO powers");
        Check(double.IsFinite(VespoLambdaPos) && double.IsFinite(VespoLambdaNeg), VespoLambdaPos, nameof(VespoLambdaPos), "use finite VESPO decays");
        Check(OffPolicyMaskThreshold is null || OffPolicyMaskThreshold >= 0, OffPolicyMaskThreshold, nameof(OffPolicyMaskThreshold), "use 0 or more, or null");
        Check(double.IsFinite(EntropyCoef), EntropyCoef, nameof(EntropyCoef), "use 0 (off) or a small weight");
    }

    private static void Check(bool ok, object? value, string name, string fix)
    {
        if (!ok)
            throw new ArgumentOutOfRangeException(name, value, $"{name} = {value?.ToString() ?? "null"} is out of range: {fix}.");
    }
}
