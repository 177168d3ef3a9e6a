using Grpo.Training;
using TorchSharp;
using static TorchSharp.torch;

namespace Grpo.Tests.Training;

/// <summary>
/// <see cref="GrpoLoss"/> on a fixed batch of 4 completions × 4 tokens (lengths 4, 3, 2, 4; 13 tokens), against
/// <see cref="ReferenceGrpoLoss"/> in float64, with ε = 0.2, ε_high = 0.28 and δ = 1.45, and log-ratios chosen so that
/// clipping is active on some tokens and the δ cap on others (every ratio is well away from 0.8, 1.28 and 1.45, so the
/// finite differences below never straddle a kink).
/// </summary>
public class GrpoLossTests
{
    private static readonly double[,] Mask = { { 1, 1, 1, 1 }, { 1, 1, 1, 0 }, { 1, 1, 0, 0 }, { 1, 1, 1, 1 } };
    private static readonly double[] Adv = [1.2, -0.8, 0.5, -1.5];
    private static readonly double[,] LogP =
    {
        { -1.0, -0.5, -2.0, -0.3 }, { -0.7, -1.2, -0.9, -5.0 }, { -2.2, -0.1, -3.0, -3.0 }, { -0.4, -0.9, -1.1, -0.6 },
    };

    // Token level. Row 0 (A > 0): r = 1.05, 1.65 (high-clipped, and above δ), 0.74 (below 1 − ε but A > 0: not clipped), 1.22.
    // Row 1 (A < 0): r = 0.67 (low-clipped), 1.82 (capped by δ), 1.11. Row 2 (A > 0): r = 1.35 (high-clipped), 0.95.
    // Row 3 (A < 0): r = 0.78 (low-clipped), 1.42, 1, 0.90. So 2 of 13 tokens low-clipped, 2 high-clipped.
    private static readonly double[,] TokenLogRatio =
    {
        { 0.05, 0.5, -0.3, 0.2 }, { -0.4, 0.6, 0.1, 2.0 }, { 0.3, -0.05, 0.9, -0.9 }, { -0.25, 0.35, 0.0, -0.1 },
    };

    // Sequence level: row means of the masked log-ratios are 0.4 (r = 1.49: high-clipped and capped), −0.3 (r = 0.74,
    // A < 0: low-clipped), 0.1 and 0.2. Padding holds large values that must not count.
    private static readonly double[,] SequenceLogRatio =
    {
        { 0.6, 0.2, 0.5, 0.3 }, { -0.5, -0.1, -0.3, 1.0 }, { 0.15, 0.05, 0.7, -0.9 }, { 0.1, 0.3, 0.2, 0.2 },
    };

    private static readonly double[,] RefMinusLogP =
    {
        { 0.1, -0.2, 0.3, 0.05 }, { -0.15, 0.25, 0.0, 0.4 }, { 0.2, -0.1, 0.3, 0.3 }, { 0.05, 0.1, -0.3, 0.15 },
    };

    private const double ActiveTokensInStep = 20; // as if this micro-batch were one of several in its step
    private const int MicroBatches = 2;

    public static TheoryData<LossType, ImportanceSamplingLevel> Variants()
    {
        var data = new TheoryData<LossType, ImportanceSamplingLevel>();
        foreach (var lossType in new[] { LossType.Grpo, LossType.Bnpo, LossType.DrGrpo, LossType.Dapo })
            foreach (var level in Enum.GetValues<ImportanceSamplingLevel>())
                data.Add(lossType, level);
        return data;
    }

    [Theory]
    [MemberData(nameof(Variants))]
    public void LossMetricsAndGradientMatchThePlainFloat64Formula(LossType lossType, ImportanceSamplingLevel level)
    {
        var logRatio = level == ImportanceSamplingLevel.Token ? TokenLogRatio : SequenceLogRatio;
        var old = Map(LogP, logRatio, (p, r) => p - r);
        var reference = Map(LogP, RefMinusLogP, (p, d) => p + d);
        var settings = new ReferenceGrpoLoss.Settings(lossType, level, Beta: 0.05, Epsilon: 0.2, EpsilonHigh: 0.28, Delta: 1.45, MaxCompletionLength: 6);
        var options = Options(settings);
        using var scope = NewDisposeScope();

        var logp = F64(LogP).requires_grad_();
        var result = new GrpoLoss(GrpoLossSettings.From(options)).Compute(Inputs(logp, old, reference));
        result.Loss.backward();

        var expected = Reference(settings, LogP, old, reference);
        Assert.Equal(expected.Loss, result.Loss.item<double>(), 12);
        Assert.Equal(expected.Kl, result.Kl!.Value, 12);
        Assert.Equal(expected.ClipLow, result.ClipRatioLow!.Value, 12);
        Assert.Equal(expected.ClipHigh, result.ClipRatioHigh!.Value, 12);
        Assert.Equal(expected.ClipRegion, result.ClipRatioRegion!.Value, 12);

        // The clip fractions counted by hand in the comments above.
        var (lowCount, highCount, total) = level == ImportanceSamplingLevel.Token ? (2.0, 2.0, 13.0) : (1.0, 1.0, 4.0);
        Assert.Equal(lowCount / total, result.ClipRatioLow!.Value, 12);
        Assert.Equal(highCount / total, result.ClipRatioHigh!.Value, 12);
        Assert.Equal((lowCount + highCount) / total, result.ClipRatioRegion!.Value, 12);

        // d loss / d logp against central differences of the plain formula.
        var gradient = logp.grad!.data<double>().ToArray();
        const double h = 1e-6;
        for (var b = 0; b < 4; b++)
            for (var t = 0; t < 4; t++)
            {
                var up = (double[,])LogP.Clone();
                var down = (double[,])LogP.Clone();
                up[b, t] += h;
                down[b, t] -= h;
                var numeric = (Reference(settings, up, old, reference).Loss - Reference(settings, down, old, reference).Loss) / (2 * h);
                Assert.True(Math.Abs(numeric - gradient[b * 4 + t]) < 1e-7,
                    $"d loss / d logp[{b},{t}]: autograd {gradient[b * 4 + t]}, finite difference {numeric}");
            }
    }

    [Fact]
    public void TheTopEntropyMaskKeepsThePolicyTermOnHighEntropyTokensOnly()
    {
        // 13 distinct entropies on mask-1 tokens; ρ = 0.5 keeps those at or above their median (7 tokens).
        double[,] entropies = { { 0.9, 0.1, 1.3, 0.4 }, { 2.0, 0.7, 0.2, 9.0 }, { 1.1, 0.3, 9.0, 9.0 }, { 0.6, 1.7, 0.05, 1.5 } };
        var old = Map(LogP, TokenLogRatio, (p, r) => p - r);
        var reference = Map(LogP, RefMinusLogP, (p, d) => p + d);
        var settings = new ReferenceGrpoLoss.Settings(LossType.Dapo, ImportanceSamplingLevel.Token, 0.05, 0.2, 0.28, 1.45, 6, TopEntropyQuantile: 0.5);
        using var scope = NewDisposeScope();

        var result = new GrpoLoss(GrpoLossSettings.From(Options(settings))).Compute(Inputs(F64(LogP), old, reference) with { Entropies = F64(entropies) });

        var expected = ReferenceGrpoLoss.Compute(settings, LogP, old, reference, Adv, Mask, entropies, ActiveTokensInStep, MicroBatches);
        var unmasked = ReferenceGrpoLoss.Compute(settings with { TopEntropyQuantile = 1 }, LogP, old, reference, Adv, Mask, null, ActiveTokensInStep, MicroBatches);
        Assert.Equal(expected.Loss, result.Loss.item<double>(), 12);
        Assert.NotEqual(unmasked.Loss, expected.Loss, 6);
        Assert.Equal((0.9 + 0.1 + 1.3 + 0.4 + 2.0 + 0.7 + 0.2 + 1.1 + 0.3 + 0.6 + 1.7 + 0.05 + 1.5) / 13, result.Entropy!.Value, 12);
    }

    [Theory]
    [InlineData(ImportanceSamplingLevel.Token)]
    [InlineData(ImportanceSamplingLevel.Sequence)]
    public void KlIsExactlyZeroWhenThePolicyIsTheReference(ImportanceSamplingLevel level)
    {
        var old = Map(LogP, TokenLogRatio, (p, r) => p - r);
        var withKl = new ReferenceGrpoLoss.Settings(LossType.Dapo, level, Beta: 0.1, 0.2, 0.28, null, 6);
        using var scope = NewDisposeScope();

        var result = new GrpoLoss(GrpoLossSettings.From(Options(withKl))).Compute(Inputs(F64(LogP), old, LogP));
        var noKl = new GrpoLoss(GrpoLossSettings.From(Options(withKl with { Beta = 0 }))).Compute(Inputs(F64(LogP), old, null));

        Assert.Equal(0.0, result.Kl);
        Assert.Null(noKl.Kl);
        Assert.Equal(noKl.Loss.item<double>(), result.Loss.item<double>());
    }

    [Theory]
    [MemberData(nameof(Variants))]
    public void OnPolicyTheRatioIsOneAndTheGradientIsThePlainPolicyGradient(LossType lossType, ImportanceSamplingLevel level)
    {
        // μ = 1: no π_old, so r = 1 with r's gradient, nothing is clipped, and d loss / d logp[b,t] = −A_b · m_bt · w,
        // w being the loss type's normaliser (for GSPO too: the sequence ratio's gradient spreads 1/length over its tokens).
        var settings = new ReferenceGrpoLoss.Settings(lossType, level, Beta: 0, 0.2, 0.28, 1.45, 6);
        using var scope = NewDisposeScope();
        var logp = F64(LogP).requires_grad_();

        var result = new GrpoLoss(GrpoLossSettings.From(Options(settings))).Compute(Inputs(logp, null, null));
        result.Loss.backward();

        var gradient = logp.grad!.data<double>().ToArray();
        double[] lengths = [4, 3, 2, 4];
        var expectedLoss = 0.0;
        for (var b = 0; b < 4; b++)
            for (var t = 0; t < 4; t++)
            {
                var w = lossType switch
                {
                    LossType.Grpo => 1 / (lengths[b] * 4) / MicroBatches,
                    LossType.Bnpo => 1 / 13.0 / MicroBatches,
                    LossType.DrGrpo => 1 / (4.0 * 6) / MicroBatches,
                    _ => 1 / ActiveTokensInStep,
                };
                Assert.Equal(-Adv[b] * Mask[b, t] * w, gradient[b * 4 + t], 14);
                expectedLoss += -Adv[b] * Mask[b, t] * w;
            }
        Assert.Equal(expectedLoss, result.Loss.item<double>(), 14);
        Assert.Equal(0.0, result.ClipRatioRegion);
    }

    [Fact]
    public void MissingTensorsAndWrongShapesAreNamed()
    {
        using var scope = NewDisposeScope();
        var loss = new GrpoLoss(GrpoLossSettings.From(new GrpoOptions { Beta = 0.1 }));
        var noRef = Assert.Throws<ArgumentException>(() => loss.Compute(Inputs(F64(LogP), null, null)));
        Assert.Contains("RefLogProbs", noRef.Message);
        var badMask = Assert.Throws<ArgumentException>(() => loss.Compute(Inputs(F64(LogP), null, LogP) with { CompletionMask = ones(4, 3) }));
        Assert.Contains("CompletionMask must be [4, 4]", badMask.Message);
        var badAdvantages = Assert.Throws<ArgumentException>(() => loss.Compute(Inputs(F64(LogP), null, LogP) with { Advantages = ones(3) }));
        Assert.Contains("Advantages must be [4]", badAdvantages.Message);
        var entropy = new GrpoLoss(GrpoLossSettings.From(new GrpoOptions { TopEntropyQuantile = 0.2 }));
        Assert.Contains("Entropies", Assert.Throws<ArgumentException>(() => entropy.Compute(Inputs(F64(LogP), null, null))).Message);
    }

    private static ReferenceGrpoLoss.Result Reference(ReferenceGrpoLoss.Settings s, double[,] logp, double[,] old, double[,] reference) =>
        ReferenceGrpoLoss.Compute(s, logp, old, reference, Adv, Mask, null, ActiveTokensInStep, MicroBatches);

    private static GrpoOptions Options(ReferenceGrpoLoss.Settings s) => new()
    {
        LossType = s.LossType, ImportanceSamplingLevel = s.Level, Beta = s.Beta, Epsilon = s.Epsilon,
        EpsilonHigh = s.EpsilonHigh, Delta = s.Delta, MaxCompletionLength = s.MaxCompletionLength, TopEntropyQuantile = s.TopEntropyQuantile,
    };

    private static GrpoLossInputs Inputs(Tensor logp, double[,]? old, double[,]? reference) => new()
    {
        LogProbs = logp,
        OldLogProbs = old is null ? null : F64(old),
        RefLogProbs = reference is null ? null : F64(reference),
        Advantages = tensor(Adv, ScalarType.Float64),
        CompletionMask = F64(Mask),
        ActiveTokensInStep = ActiveTokensInStep,
        MicroBatchesInStep = MicroBatches,
    };

    internal static Tensor F64(double[,] values) => tensor(values, ScalarType.Float64);

    private static double[,] Map(double[,] a, double[,] b, Func<double, double, double> f)
    {
        var result = new double[a.GetLength(0), a.GetLength(1)];
        for (var i = 0; i < a.GetLength(0); i++)
            for (var j = 0; j < a.GetLength(1); j++)
                result[i, j] = f(a[i, j], b[i, j]);
        return result;
    }
}
