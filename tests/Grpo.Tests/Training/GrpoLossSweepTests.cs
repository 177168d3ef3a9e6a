using Grpo.Training;
using TorchSharp;
using static TorchSharp.torch;

namespace Grpo.Tests.Training;

/// <summary>
/// <see cref="GrpoLoss"/> and <see cref="SamplerImportanceSampling"/> against <see cref="ReferenceGrpoLoss"/> (plain float64
/// loops written from TRL v1.9.0's code) on every combination of loss type × ratio level × β × δ × row masking ×
/// sampler-correction mode × bias-corrected KL × off-policy mask × entropy coefficient × top-entropy quantile: 640
/// settings per loss type and level, each value within 1e-9 relative (absolute floor 1e-12).
/// </summary>
public class GrpoLossSweepTests
{
    private const int B = 4, T = 4;
    private const double ActiveTokensInStep = 20;
    private const int MicroBatches = 2;
    private static readonly double[] Adv = [1.2, -0.8, 0.0, -1.5];
    private static readonly double[][,] Masks =
    [
        new double[,] { { 1, 1, 1, 1 }, { 1, 1, 1, 0 }, { 1, 1, 0, 0 }, { 1, 1, 1, 1 } },
        new double[,] { { 1, 1, 1, 1 }, { 0, 0, 0, 0 }, { 1, 1, 0, 0 }, { 1, 1, 1, 0 } }, // a truncated completion masked out
    ];

    public static TheoryData<LossType, ImportanceSamplingLevel> Variants()
    {
        var data = new TheoryData<LossType, ImportanceSamplingLevel>();
        foreach (var lossType in Enum.GetValues<LossType>())
            foreach (var level in Enum.GetValues<ImportanceSamplingLevel>())
                data.Add(lossType, level);
        return data;
    }

    [Theory]
    [MemberData(nameof(Variants))]
    public void EverySettingMatchesTheReference(LossType lossType, ImportanceSamplingLevel level)
    {
        var random = new Random(100 + 2 * (int)lossType + (int)level);
        var logp = Fill((_, _) => -0.05 - 3 * random.NextDouble());
        var old = Fill((b, t) => logp[b, t] - (random.NextDouble() - 0.5) * 1.2);
        var reference = Fill((b, t) => logp[b, t] + (random.NextDouble() - 0.5) * 0.8);
        // Row 3 (A < 0) drifts far from the sampler, so the off-policy mask drops it, and its sampler weights fall below C_min.
        var sampler = Fill((b, t) => old[b, t] + (random.NextDouble() - 0.5) * 1.0 + (b == 3 ? 0.8 : 0));
        var entropies = Fill((_, _) => 0.05 + 3 * random.NextDouble());
        var epsilonHigh = lossType == LossType.Cispo ? 1.2 : 0.28; // CISPO caps r itself at ε_high: 1.2 caps some tokens, not all
        SamplerImportanceSamplingMode?[] modes = [null, .. Enum.GetValues<SamplerImportanceSamplingMode>()];
        var checkedSettings = 0;

        foreach (var mask in Masks)
            foreach (var beta in new[] { 0.0, 0.05 })
                foreach (var delta in new double?[] { null, 1.45 })
                    foreach (var mode in modes)
                        foreach (var biasCorrection in new[] { false, true })
                            foreach (var offPolicy in new double?[] { null, 0.05 })
                                foreach (var entropyCoef in new[] { 0.0, 0.03 })
                                    foreach (var quantile in new[] { 1.0, 0.5 })
                                    {
                                        using var scope = NewDisposeScope();
                                        var settings = new ReferenceGrpoLoss.Settings(lossType, level, beta, 0.2, epsilonHigh, delta, 6, quantile)
                                        {
                                            UseBiasCorrectionKl = biasCorrection, OffPolicyMaskThreshold = offPolicy, EntropyCoef = entropyCoef,
                                        };
                                        var label = $"{settings} mask {Array.IndexOf(Masks, mask)} mode {mode}";
                                        double[,]? expectedRatio = null;
                                        Tensor? ratio = null;
                                        if (mode is { } m)
                                        {
                                            var correction = SamplerImportanceSampling.Compute(F64(old), F64(sampler), F64(mask), m, clipMax: 1.4, clipMin: 0.75);
                                            (expectedRatio, var expectedMetrics) = ReferenceGrpoLoss.SamplerCorrection(old, sampler, mask, m, 1.4, 0.75);
                                            ratio = correction.Ratio;
                                            AssertClose(Flatten(expectedRatio), ratio.data<double>().ToArray(), label + " ratio");
                                            foreach (var (name, value) in correction.Stats.Metrics())
                                                AssertClose(expectedMetrics[name], value, $"{label} {name}");
                                        }
                                        var inputs = new GrpoLossInputs
                                        {
                                            LogProbs = F64(logp), OldLogProbs = F64(old), RefLogProbs = F64(reference), SamplerLogProbs = F64(sampler),
                                            ImportanceSamplingRatio = ratio, Entropies = F64(entropies), Advantages = tensor(Adv, ScalarType.Float64),
                                            CompletionMask = F64(mask), ActiveTokensInStep = ActiveTokensInStep, MicroBatchesInStep = MicroBatches,
                                        };
                                        var loss = new GrpoLoss(settings.ToLossSettings());
                                        if (lossType == LossType.Vespo && ratio is not null && ratio.shape[1] == 1)
                                        {
                                            Assert.Contains("TokenTruncate or TokenMask", Assert.Throws<ArgumentException>(() => loss.Compute(inputs)).Message);
                                            continue;
                                        }

                                        var result = loss.Compute(inputs);
                                        var expected = ReferenceGrpoLoss.Compute(settings, logp, old, reference, Adv, mask, entropies, ActiveTokensInStep, MicroBatches,
                                            sampler, expectedRatio);
                                        AssertMatches(expected, result, label);
                                        checkedSettings++;
                                    }

        Assert.Equal(lossType == LossType.Vespo ? 384 : 640, checkedSettings);
    }

    [Theory]
    [InlineData(LossType.Dapo, new[] { "clip_ratio/low_mean", "clip_ratio/high_mean", "clip_ratio/region_mean", "clip_ratio/low_min", "clip_ratio/high_max" })]
    [InlineData(LossType.Cispo, new[] { "cispo_clip_ratio" })]
    [InlineData(LossType.Sapo, new string[0])]
    [InlineData(LossType.Vespo, new[] { "vespo/phi_seq_mean" })]
    public void EachLossTypeLogsTheMetricsTrlLogsForIt(LossType lossType, string[] specific)
    {
        using var scope = NewDisposeScope();
        var mask = Masks[0];
        var logp = Fill((b, t) => -1 - 0.1 * (b + t));
        var entropies = Fill((b, t) => 0.5 + 0.1 * b + 0.01 * t);
        var inputs = new GrpoLossInputs
        {
            LogProbs = F64(logp), RefLogProbs = F64(logp), Entropies = F64(entropies), Advantages = tensor(Adv, ScalarType.Float64), CompletionMask = F64(mask),
        };

        var plain = new GrpoLoss(new GrpoLossSettings { LossType = lossType, Beta = 0.1 }).Compute(inputs).ToDictionary();
        var bonus = new GrpoLoss(new GrpoLossSettings { LossType = lossType, EntropyCoef = 0.01 }).Compute(inputs).ToDictionary();

        Assert.Equal(new[] { "entropy", "kl" }.Concat(specific).Order(), plain.Keys.Order());
        Assert.Equal(new[] { "entropy", "policy_loss" }.Concat(specific).Order(), bonus.Keys.Order());
    }

    [Fact]
    public void AdaptiveEntropyAppliesTheControllersCoefficientAndFeedsItTheStepsEntropy()
    {
        using var scope = NewDisposeScope();
        var random = new Random(5);
        var logp = Fill((_, _) => -0.05 - 3 * random.NextDouble());
        var old = Fill((b, t) => logp[b, t] - (random.NextDouble() - 0.5) * 0.6);
        var entropies = Fill((_, _) => 0.05 + 3 * random.NextDouble());
        var mask = Masks[0];
        var settings = new ReferenceGrpoLoss.Settings(LossType.Dapo, ImportanceSamplingLevel.Token, 0, 0.2, 0.28, null, 6, TopEntropyQuantile: 0.5)
        {
            EntropyCoef = 0.1, UseAdaptiveEntropy = true,
        };
        var loss = new GrpoLoss(settings.ToLossSettings());
        var controller = new EntropyController(0.1, adaptive: true, maximum: 1, delta: 0.005, target: 10);
        GrpoLossInputs Inputs(int start, double? coefficient) => new()
        {
            LogProbs = F64(logp).narrow(0, start, 2), OldLogProbs = F64(old).narrow(0, start, 2), Entropies = F64(entropies).narrow(0, start, 2),
            Advantages = tensor(Adv, ScalarType.Float64).narrow(0, start, 2), CompletionMask = F64(mask).narrow(0, start, 2),
            ActiveTokensInStep = 13, EntropyCoefficient = coefficient,
        };
        Assert.Contains("AppliedCoefficient", Assert.Throws<ArgumentException>(() => loss.Compute(Inputs(0, null))).Message);

        foreach (var expectedCoefficient in new[] { 0.0, 0.105 }) // no bonus before the first measurement, then 0.1 + δ
        {
            Assert.Equal(expectedCoefficient, controller.AppliedCoefficient, 15);
            double sum = 0, tokens = 0;
            foreach (var start in new[] { 0, 2 })
            {
                var result = loss.Compute(Inputs(start, controller.AppliedCoefficient));
                var expected = ReferenceGrpoLoss.Compute(settings, Rows(logp, start), Rows(old, start), Rows(logp, start), Adv[start..(start + 2)],
                    Rows(mask, start), Rows(entropies, start), 13, 1, entropyCoefficient: expectedCoefficient);
                AssertMatches(expected, result, $"start {start} coefficient {expectedCoefficient}");
                sum += result.EntropySum!.Value;
                tokens += result.EntropyTokens!.Value;
            }
            controller.Update(sum, tokens);
            Assert.Equal(sum / tokens, controller.LastEntropy, 15);
        }
    }

    private static double[,] Rows(double[,] values, int start)
    {
        var rows = new double[2, T];
        for (var b = 0; b < 2; b++)
            for (var t = 0; t < T; t++)
                rows[b, t] = values[start + b, t];
        return rows;
    }

    private static void AssertMatches(ReferenceGrpoLoss.Result expected, GrpoLossResult actual, string label)
    {
        AssertClose(expected.Loss, actual.Loss.item<double>(), label + " loss");
        AssertClose(expected.Kl, actual.Kl, label + " kl");
        AssertClose(expected.Entropy, actual.Entropy, label + " entropy");
        AssertClose(expected.ClipLow, actual.ClipRatioLow, label + " clip_ratio/low_mean");
        AssertClose(expected.ClipHigh, actual.ClipRatioHigh, label + " clip_ratio/high_mean");
        AssertClose(expected.ClipRegion, actual.ClipRatioRegion, label + " clip_ratio/region_mean");
        AssertClose(expected.ClipLowMin, actual.ClipRatioLowMin, label + " clip_ratio/low_min");
        AssertClose(expected.ClipHighMax, actual.ClipRatioHighMax, label + " clip_ratio/high_max");
        AssertClose(expected.CispoClipRatio, actual.CispoClipRatio, label + " cispo_clip_ratio");
        AssertClose(expected.VespoPhiSeqMean, actual.VespoPhiSeqMean, label + " vespo/phi_seq_mean");
        AssertClose(expected.PolicyLoss, actual.PolicyLoss, label + " policy_loss");
        AssertClose(expected.EntropySum, actual.EntropySum, label + " entropy sum");
        AssertClose(expected.EntropyTokens, actual.EntropyTokens, label + " entropy tokens");
    }

    /// <summary>Within 1e-9 relative, absolute floor 1e-12; an expected NaN (not logged) needs null or NaN.</summary>
    internal static void AssertClose(double expected, double? actual, string what)
    {
        if (double.IsNaN(expected))
        {
            Assert.True(actual is null || double.IsNaN(actual.Value), $"{what}: expected none, got {actual}");
            return;
        }
        Assert.True(actual is { } a && Math.Abs(a - expected) <= Math.Max(1e-12, 1e-9 * Math.Abs(expected)), $"{what}: expected {expected:R}, got {actual:R}");
    }

    private static void AssertClose(double[] expected, double[] actual, string what)
    {
        Assert.Equal(expected.Length, actual.Length);
        for (var i = 0; i < expected.Length; i++)
            AssertClose(expected[i], actual[i], $"{what}[{i}]");
    }

    private static double[] Flatten(double[,] values) => values.Cast<double>().ToArray();

    private static double[,] Fill(Func<int, int, double> value)
    {
        var result = new double[B, T];
        for (var b = 0; b < B; b++)
            for (var t = 0; t < T; t++)
                result[b, t] = value(b, t);
        return result;
    }

    private static Tensor F64(double[,] values) => tensor(values, ScalarType.Float64);
}
