namespace Grpo.Cli.Tests;

/// <summary>The unbiased pass@k estimator against 1 − C(n−c, k) / C(n, k) worked out by hand.</summary>
public sealed class PassAtKTests
{
    [Theory]
    [InlineData(5, 2, 2, 0.7)]              // 1 − C(3,2)/C(5,2) = 1 − 3/10
    [InlineData(6, 1, 3, 0.5)]              // 1 − C(5,3)/C(6,3) = 1 − 10/20
    [InlineData(10, 3, 1, 0.3)]             // k = 1 is the fraction correct
    [InlineData(8, 2, 4, 11.0 / 14.0)]      // 1 − C(6,4)/C(8,4) = 1 − 15/70
    [InlineData(4, 0, 2, 0.0)]              // nothing correct
    [InlineData(4, 3, 2, 1.0)]              // n − c < k: every draw of k holds a correct one
    [InlineData(4, 4, 4, 1.0)]
    public void MatchesTheBinomialFormula(int n, int c, int k, double expected) =>
        Assert.Equal(expected, PassAtK.Estimate(n, c, k), 12);

    [Fact]
    public void StaysExactWhereTheBinomialsOverflowDoubles()
    {
        // C(1000, 500) is about 2.7e299 and C(1000, 600) overflows; with c = 1 the answer is k / n.
        Assert.Equal(0.6, PassAtK.Estimate(1000, 1, 600), 12);
    }

    [Theory]
    [InlineData(3, 1, 4)]
    [InlineData(3, 1, 0)]
    [InlineData(3, 4, 2)]
    public void RefusesImpossibleCounts(int n, int c, int k) =>
        Assert.Throws<ArgumentOutOfRangeException>(() => PassAtK.Estimate(n, c, k));
}
