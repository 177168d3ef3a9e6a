using Grpo.Training;
using TorchSharp;
using static TorchSharp.torch;

namespace Grpo.Tests.Training;

/// <summary>
/// <see cref="SamplerImportanceSampling"/>: statistics merged over micro-batches equal those of the whole batch and TRL's
/// (<see cref="ReferenceGrpoLoss.SamplerCorrection"/>), and by-hand ratios.
/// </summary>
public class SamplerImportanceSamplingTests
{
    [Theory]
    [InlineData(SamplerImportanceSamplingMode.TokenTruncate)]
    [InlineData(SamplerImportanceSamplingMode.TokenMask)]
    [InlineData(SamplerImportanceSamplingMode.SequenceTruncate)]
    [InlineData(SamplerImportanceSamplingMode.SequenceMask)]
    public void MergedMicroBatchStatisticsEqualTheWholeBatchs(SamplerImportanceSamplingMode mode)
    {
        using var scope = NewDisposeScope();
        var random = new Random(3);
        var old = new double[6, 5];
        var sampler = new double[6, 5];
        var mask = new double[6, 5];
        for (var b = 0; b < 6; b++)
            for (var t = 0; t < 5; t++)
            {
                old[b, t] = -3 * random.NextDouble();
                sampler[b, t] = old[b, t] + (random.NextDouble() - 0.5) * 0.8;
                mask[b, t] = t < 5 - b % 3 ? 1 : 0;
            }

        var parts = new[] { (0, 2), (2, 3), (5, 1) }.Select(p => SamplerImportanceSampling.Compute(
            Rows(old, p), Rows(sampler, p), Rows(mask, p), mode, clipMax: 1.3, clipMin: 0.8).Stats);
        var merged = parts.Aggregate(SamplerImportanceSamplingStats.Empty, (a, b) => a.Merge(b)).Metrics();
        var (_, expected) = ReferenceGrpoLoss.SamplerCorrection(old, sampler, mask, mode, 1.3, 0.8);

        foreach (var (name, value) in expected)
            GrpoLossSweepTests.AssertClose(value, merged[name], name);
        Assert.All(SamplerImportanceSamplingStats.Empty.Metrics().Values, v => Assert.Equal(0.0, v));
    }

    [Fact]
    public void TheRatioIsTruncatedOrMaskedAsTheModeSays()
    {
        using var scope = NewDisposeScope();
        // One row, log(old / sampler) = 0.5, −0.5, 0.1 on mask-1 tokens and 9 on padding (which must not count).
        var sampler = tensor(new double[,] { { -1, -1, -1, -1 } });
        var old = tensor(new double[,] { { -0.5, -1.5, -0.9, 8 } });
        var mask = tensor(new double[,] { { 1, 1, 1, 0 } });
        double[] Ratio(SamplerImportanceSamplingMode mode, double? max, double? min) =>
            SamplerImportanceSampling.Compute(old, sampler, mask, mode, max, min).Ratio.data<double>().ToArray();

        Assert.Equal([1.3, Math.Exp(-0.5), Math.Exp(0.1), 1], Ratio(SamplerImportanceSamplingMode.TokenTruncate, 1.3, null), new Within(1e-15));
        Assert.Equal([0, 0, Math.Exp(0.1), 1], Ratio(SamplerImportanceSamplingMode.TokenMask, 1.3, 0.7), new Within(1e-15));
        Assert.Equal([Math.Exp(0.1)], Ratio(SamplerImportanceSamplingMode.SequenceTruncate, 3.0, null), new Within(1e-15));
        Assert.Equal([0.0], Ratio(SamplerImportanceSamplingMode.SequenceMask, 1.05, null));
        Assert.Contains("truncate mode needs", Assert.Throws<ArgumentException>(() => Ratio(SamplerImportanceSamplingMode.TokenTruncate, null, null)).Message);
    }

    private static Tensor Rows(double[,] values, (int Start, int Count) rows) =>
        tensor(values, ScalarType.Float64).narrow(0, rows.Start, rows.Count);
}
