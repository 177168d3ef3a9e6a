using Grpo.Training;

namespace Grpo.Tests.Training;

/// <summary>
/// Advantages of a known 3-group reward matrix, worked out by hand (G = 4, two reward functions weighted 1 and 0.5):
/// <code>
///   group 0: f0 = [1, 0, 1, 0],  f1 = [1, NaN, 0, 1]   → R = [1.5, 0, 1, 0.5]   mean 0.75, var 1.25/3
///   group 1: f0 = [1, 1, 1, 1],  f1 = NaN              → R = [1, 1, 1, 1]       all equal
///   group 2: f0 = [2, NaN, 0, 1], f1 = [NaN, NaN, 2, NaN] → R = [2, —, 1, 1]    mean 4/3, var (4/9+1/9+1/9)/2 = 1/3
///   batch:   the 11 rewards sum to 11, mean 1; squared deviations 1.5 + 0 + 1 = 2.5, var 2.5/10 → std 0.5
/// </code>
/// </summary>
public class AdvantagesTests
{
    private const double N = double.NaN;
    private static readonly double[][] Scores =
    [
        [1, 0, 1, 0, 1, 1, 1, 1, 2, N, 0, 1],
        [1, N, 0, 1, N, N, N, N, N, N, 2, N],
    ];
    private static readonly double[] Weights = [1.0, 0.5];
    private static readonly double[] Centred = [0.75, -0.75, 0.25, -0.25, 0, 0, 0, 0, 2.0 / 3, 0, -1.0 / 3, -1.0 / 3];

    [Fact]
    public void RewardsAreWeightedSumsIgnoringNaN()
    {
        var a = Advantages.Compute(Scores, Weights, 4, ScaleRewards.Group);
        double[] expected = [1.5, 0, 1, 0.5, 1, 1, 1, 1, 2, N, 1, 1];
        Assert.Equal(expected, a.Rewards);
        Assert.Equal([0.75, 1.0, 4.0 / 3], a.GroupMeans, Tolerance);
        Assert.Equal([Math.Sqrt(1.25 / 3), 0, Math.Sqrt(1.0 / 3)], a.GroupStds, Tolerance);
        Assert.Equal(1.0, a.RewardMean, 12);
    }

    [Fact]
    public void GroupScalingDividesByEachGroupsStdPlusEpsilon()
    {
        var a = Advantages.Compute(Scores, Weights, 4, ScaleRewards.Group);
        double[] stds = [Math.Sqrt(1.25 / 3), 0, Math.Sqrt(1.0 / 3)];
        var expected = Centred.Select((c, i) => c / (stds[i / 4] + 1e-4)).ToArray();
        Assert.Equal(expected, a.Values, Tolerance);
        Assert.Equal(0.5, a.RewardStd, 12); // TRL's reward_std is the whole batch's deviation whatever the scaling
    }

    [Fact]
    public void BatchScalingDividesByTheWholeBatchStd()
    {
        var a = Advantages.Compute(Scores, Weights, 4, ScaleRewards.Batch);
        Assert.Equal(Centred.Select(c => c / (0.5 + 1e-4)).ToArray(), a.Values, Tolerance);
        Assert.Equal(0.5, a.RewardStd, 12);
    }

    [Fact]
    public void NoScalingLeavesCentredRewards()
    {
        var a = Advantages.Compute(Scores, Weights, 4, ScaleRewards.None);
        Assert.Equal(Centred, a.Values, Tolerance);
    }

    [Theory]
    [InlineData(ScaleRewards.Group, 1.0 / 3)]
    [InlineData(ScaleRewards.Batch, 0.0)]
    [InlineData(ScaleRewards.None, 1.0 / 3)]
    public void ACompletionWithNoApplicableRewardGetsZeroAndGroupsWithEqualRewardsAreFlagged(ScaleRewards scale, double fracZeroStd)
    {
        // frac_reward_zero_std looks at the deviation the scaling uses: group 1's (4 of 12 completions), or the batch's 0.5.
        var a = Advantages.Compute(Scores, Weights, 4, scale);
        Assert.Equal(0.0, a.Values[9]);
        Assert.All(a.Values.Skip(4).Take(4), v => Assert.Equal(0.0, v));
        Assert.Equal([false, true, false], a.ZeroStdGroups);
        Assert.Equal(fracZeroStd, a.FracRewardZeroStd, 12);
    }

    [Fact]
    public void PerFunctionStatisticsSkipNaN()
    {
        // f0's 11 scores: sum 9, sum of squares 11 → var (11 − 81/11) / 10 = 4/11. f1's: [1, 0, 1, 2] → mean 1, var 2/3.
        var a = Advantages.Compute(Scores, Weights, 4, ScaleRewards.Group);
        Assert.Equal([9.0 / 11, 1.0], a.MeanByFunction, Tolerance);
        Assert.Equal([Math.Sqrt(4.0 / 11), Math.Sqrt(2.0 / 3)], a.StdByFunction, Tolerance);
    }

    [Fact]
    public void AGroupWithOneRewardHasNaNStdAndZeroAdvantages()
    {
        // nanstd of one value is NaN, and NaN is not close to 0, so TRL counts no zero-std completion here.
        double[][] scores = [[N, 3, N, N]];
        var a = Advantages.Compute(scores, [1.0], 4, ScaleRewards.Group);
        Assert.Equal([0.0, 0, 0, 0], a.Values);
        Assert.True(double.IsNaN(a.GroupStds[0]));
        Assert.True(double.IsNaN(a.RewardStd));
        Assert.True(a.ZeroStdGroups[0]);
        Assert.Equal(0.0, a.FracRewardZeroStd);
    }

    [Fact]
    public void BadShapesAreRejectedWithTheFix()
    {
        var notWhole = Assert.Throws<ArgumentException>(() => Advantages.Compute([[1, 2, 3]], [1.0], 2, ScaleRewards.Group));
        Assert.Contains("whole groups of 2", notWhole.Message);
        var weights = Assert.Throws<ArgumentException>(() => Advantages.Compute(Scores, [1.0], 4, ScaleRewards.Group));
        Assert.Contains("one weight per function", weights.Message);
        var ragged = Assert.Throws<ArgumentException>(() => Advantages.Compute([[1, 2], [1, 2, 3, 4]], [1.0, 1.0], 2, ScaleRewards.Group));
        Assert.Contains("every function scores every completion", ragged.Message);
        Assert.Throws<ArgumentOutOfRangeException>(() => Advantages.Compute([[1, 2]], [1.0], 1, ScaleRewards.Group));
    }

    private static readonly IEqualityComparer<double> Tolerance = new Within(1e-12);
}
