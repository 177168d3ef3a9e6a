using Grpo.Training;

namespace Grpo.Tests.Training;

/// <summary>
/// <see cref="Advantages"/> against <see cref="ReferenceAdvantages"/> on both aggregations × every scaling × NaN patterns
/// (scattered NaN, unscorable completions, a group with one scorable completion, a whole group unscorable, a constant
/// group, ties), every advantage and metric within 1e-9 relative (absolute floor 1e-12).
/// </summary>
public class AdvantagesSweepTests
{
    private const double N = double.NaN;
    private static readonly string[] Names = ["accuracy", "format", "length"];

    public static TheoryData<MultiObjectiveAggregation, ScaleRewards> Settings()
    {
        var data = new TheoryData<MultiObjectiveAggregation, ScaleRewards>();
        foreach (var aggregation in Enum.GetValues<MultiObjectiveAggregation>())
            foreach (var scale in Enum.GetValues<ScaleRewards>())
                data.Add(aggregation, scale);
        return data;
    }

    [Theory]
    [MemberData(nameof(Settings))]
    public void EveryNaNPatternMatchesTheReference(MultiObjectiveAggregation aggregation, ScaleRewards scale)
    {
        var random = new Random(7 + 3 * (int)aggregation + (int)scale);
        var patterns = new List<(double[,] Scores, int G)>
        {
            // 3 groups of 4: scattered NaN, an unscorable completion (row 9), a constant group (rows 4–7).
            (new double[,]
            {
                { 1, 1, 0.2 }, { 0, N, 0.5 }, { 1, 0, N }, { 0, 1, 0.1 },
                { 1, N, N }, { 1, N, N }, { 1, N, N }, { 1, N, N },
                { 2, N, 0.3 }, { N, N, N }, { 0, 2, 0.3 }, { 1, N, 0.9 },
            }, 4),
            // 2 groups of 3: a group with one scorable completion, and a group where one function applies once.
            (new double[,] { { N, N, N }, { 3, N, N }, { N, N, N }, { 0.5, 0.2, N }, { 0.1, N, 0.7 }, { 0.4, 0.2, 0.3 } }, 3),
            // Everything unscorable but one group of ties.
            (new double[,] { { N, N, N }, { N, N, N }, { 1, 1, 1 }, { 1, 1, 1 } }, 2),
        };
        for (var trial = 0; trial < 40; trial++)
        {
            // Random scores with ~25 % NaN, and rounded values so that ties and equal groups happen.
            var g = 2 + random.Next(4);
            var scores = new double[g * (1 + random.Next(4)), 3];
            for (var i = 0; i < scores.GetLength(0); i++)
                for (var j = 0; j < 3; j++)
                    scores[i, j] = random.NextDouble() < 0.25 ? N : Math.Round(random.NextDouble() * 4) / 2 - 0.5;
            patterns.Add((scores, g));
        }

        double[] weights = [1.0, 0.5, -0.25];
        foreach (var (scores, g) in patterns)
        {
            var byFunction = Enumerable.Range(0, 3).Select(j => Enumerable.Range(0, scores.GetLength(0)).Select(i => scores[i, j]).ToArray()).ToArray();
            var actual = Advantages.Compute(byFunction, weights, g, scale, aggregation);
            var expected = ReferenceAdvantages.Compute(scores, weights, g, scale, aggregation, Names);

            for (var i = 0; i < expected.Advantages.Length; i++)
                GrpoLossSweepTests.AssertClose(expected.Advantages[i], actual.Values[i], $"advantage {i} (G {g})");
            var metrics = actual.Metrics(Names);
            Assert.Equal(expected.Metrics.Keys.Order(), metrics.Keys.Order());
            foreach (var (name, value) in expected.Metrics)
                Assert.True(double.IsNaN(value) ? double.IsNaN(metrics[name]) : Math.Abs(metrics[name] - value) <= Math.Max(1e-12, 1e-9 * Math.Abs(value)),
                    $"{name} (G {g}): expected {value:R}, got {metrics[name]:R}");
        }
    }

    [Fact]
    public void NormalizeThenSumNormalisesEachFunctionWithinItsGroupFirst()
    {
        // One group of 2, two functions weighted 1: f0 = [1, 0] → ±0.5 / (√0.5 + 1e-4); f1 = [0, 10] → ∓5 / (√50 + 1e-4).
        // R = [a − b, b − a] with a = 0.5 / (√0.5 + 1e-4), b = 5 / (√50 + 1e-4); the batch deviation of ±(a − b) is √2·|a − b|.
        double[][] scores = [[1, 0], [0, 10]];
        var a = 0.5 / (Math.Sqrt(0.5) + 1e-4);
        var b = 5 / (Math.Sqrt(50) + 1e-4);
        var r = a - b;
        var std = Math.Sqrt(2) * Math.Abs(r);

        var result = Advantages.Compute(scores, [1.0, 1.0], 2, ScaleRewards.None, MultiObjectiveAggregation.NormalizeThenSum);

        Assert.Equal(r / (std + 1e-4), result.Values[0], 12);
        Assert.Equal(-r / (std + 1e-4), result.Values[1], 12);
        Assert.Equal(5.5, result.RewardMean, 12); // the logged reward is still the raw weighted sum: [1, 10]
    }
}
