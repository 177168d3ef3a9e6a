using Grpo.Training;

namespace Grpo.Tests.Training;

/// <summary><see cref="GrpoLossSettings.From"/> carries every objective option over, and the new options are range-checked.</summary>
public class GrpoLossSettingsTests
{
    [Fact]
    public void FromCopiesEveryObjectiveOption()
    {
        var options = new GrpoOptions
        {
            LossType = LossType.Vespo, ImportanceSamplingLevel = ImportanceSamplingLevel.Sequence, Beta = 0.04, Epsilon = 0.3, EpsilonHigh = 0.4,
            Delta = 2.5, MaxCompletionLength = 77, TopEntropyQuantile = 0.2, SapoTemperaturePos = 1.5, SapoTemperatureNeg = 1.6, VespoKPos = 2.1,
            VespoLambdaPos = 3.1, VespoKNeg = 3.2, VespoLambdaNeg = 2.2, UseBiasCorrectionKl = true, OffPolicyMaskThreshold = 0.5, EntropyCoef = 0.01,
            UseAdaptiveEntropy = true,
        };

        var expected = new GrpoLossSettings
        {
            LossType = LossType.Vespo, ImportanceSamplingLevel = ImportanceSamplingLevel.Sequence, Beta = 0.04, Epsilon = 0.3, EpsilonHigh = 0.4,
            Delta = 2.5, MaxCompletionLength = 77, TopEntropyQuantile = 0.2, SapoTemperaturePos = 1.5, SapoTemperatureNeg = 1.6, VespoKPos = 2.1,
            VespoLambdaPos = 3.1, VespoKNeg = 3.2, VespoLambdaNeg = 2.2, UseBiasCorrectionKl = true, OffPolicyMaskThreshold = 0.5, EntropyCoef = 0.01,
            UseAdaptiveEntropy = true,
        };
        Assert.Equal(expected, GrpoLossSettings.From(options));
        Assert.Equal(0.3, GrpoLossSettings.From(options with { EpsilonHigh = null }).EpsilonHigh); // ε_high defaults to ε, as TRL
        Assert.True(expected.EntropyBonus);
        Assert.True((expected with { EntropyCoef = 0 }).EntropyBonus); // adaptive keeps the term even at coefficient 0
        Assert.False(new GrpoLossSettings().EntropyBonus);
    }

    [Fact]
    public void OutOfRangeObjectiveOptionsAreNamedWithTheFix()
    {
        Assert.Contains("SapoTemperaturePos", Assert.Throws<ArgumentOutOfRangeException>(() => new GrpoOptions { SapoTemperaturePos = 0 }.Validate()).Message);
        Assert.Contains("OffPolicyMaskThreshold", Assert.Throws<ArgumentOutOfRangeException>(() => new GrpoOptions { OffPolicyMaskThreshold = -1 }.Validate()).Message);
        Assert.Contains("EntropyCoefMin", Assert.Throws<ArgumentOutOfRangeException>(() => new GrpoOptions { EntropyCoefMin = 2 }.Validate()).Message);
        Assert.Contains("below SamplerImportanceSamplingClipMax",
            Assert.Throws<ArgumentOutOfRangeException>(() => new GrpoOptions { SamplerImportanceSamplingClipMin = 3 }.Validate()).Message);
        Assert.Contains("truncate mode needs", Assert.Throws<ArgumentOutOfRangeException>(() => new GrpoOptions
        {
            SamplerImportanceSamplingMode = SamplerImportanceSamplingMode.TokenTruncate, SamplerImportanceSamplingClipMax = null,
        }.Validate()).Message);
        new GrpoOptions { SamplerImportanceSamplingMode = SamplerImportanceSamplingMode.TokenMask, SamplerImportanceSamplingClipMax = null }.Validate();
        Assert.Throws<ArgumentOutOfRangeException>(() => new GrpoLoss(new GrpoLossSettings { Epsilon = 1.5 }));
    }
}
