namespace Grpo.Rewards.Shaping.Tests;

public class SoftOverlongPunishmentTests
{
    // L_max = 100, C = 20: the ramp runs over 81..100 tokens (TRL's docstring example: 90 tokens give -0.5).
    static readonly SoftOverlongPunishment Reward = new(new() { MaxCompletionLength = 100, CacheLength = 20 });

    [Theory]
    [InlineData(0, 0.0)]
    [InlineData(50, 0.0)]
    [InlineData(80, 0.0)]      // exactly L_max - C
    [InlineData(81, -0.05)]    // (80 - 81) / 20
    [InlineData(90, -0.5)]     // (80 - 90) / 20
    [InlineData(99, -0.95)]
    [InlineData(100, -1.0)]    // exactly L_max: (80 - 100) / 20
    [InlineData(101, -1.0)]
    [InlineData(5000, -1.0)]
    public void Follows_dapo_eq_13(int length, double expected) =>
        Assert.Equal(expected, Reward.Score(Inputs.Tokens(length)), 12);

    [Fact]
    public void Without_cache_punishes_only_beyond_the_limit()
    {
        var hard = new SoftOverlongPunishment(new() { MaxCompletionLength = 100, CacheLength = 0 });
        Assert.Equal(0.0, hard.Score(Inputs.Tokens(100)));
        Assert.Equal(-1.0, hard.Score(Inputs.Tokens(101)));
    }

    [Fact]
    public void Text_without_token_ids_is_not_applicable() =>
        Assert.True(double.IsNaN(Reward.Score(Inputs.Text("some text but no ids"))));

    [Fact]
    public void Empty_completion_scores_zero() => Assert.Equal(0.0, Reward.Score(Inputs.Text("")));

    [Theory]
    [InlineData(0, 0)]
    [InlineData(100, -1)]
    [InlineData(100, 101)]
    public void Rejects_bad_options(int maxLength, int cache)
    {
        var e = Assert.Throws<ArgumentOutOfRangeException>(() =>
            new SoftOverlongPunishment(new() { MaxCompletionLength = maxLength, CacheLength = cache }));
        Assert.Contains("SoftOverlongPunishmentOptions.", e.Message);
    }
}
