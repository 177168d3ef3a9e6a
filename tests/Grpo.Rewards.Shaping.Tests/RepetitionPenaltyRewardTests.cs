namespace Grpo.Rewards.Shaping.Tests;

public class RepetitionPenaltyRewardTests
{
    static double Score(int n, double maxPenalty, params int[] ids) =>
        new RepetitionPenaltyReward(new() { NgramSize = n, MaxPenalty = maxPenalty }).Score(Inputs.Tokens(ids));

    [Fact]
    public void Matches_trl_docstring_example()
    {
        Assert.Equal(0.0, Score(2, -1, 1, 2, 3, 4));
        Assert.Equal(-0.75, Score(2, -1, 5, 5, 5, 5, 5));  // 4 bigrams, 1 unique
    }

    [Fact]
    public void Defaults_are_trigrams_and_minus_one()
    {
        // Trigrams 123, 231, 312, 123: total 4, unique 3 -> (1 - 3/4) * -1.
        Assert.Equal(-0.25, new RepetitionPenaltyReward().Score(Inputs.Tokens(1, 2, 3, 1, 2, 3)));
    }

    [Fact]
    public void Scales_by_max_penalty_and_handles_unigrams()
    {
        Assert.Equal(-1.0, Score(3, -2, 7, 7, 7, 7));           // 2 trigrams, 1 unique: 0.5 * -2
        Assert.Equal(-1.0 / 3, Score(1, -1, 1, 1, 2), 12);       // 3 unigrams, 2 unique
        Assert.Equal(0.0, Score(3, -1, 1, 2, 3));                // one trigram, never repeated
    }

    [Fact]
    public void Shorter_than_n_or_empty_scores_zero()
    {
        Assert.Equal(0.0, Score(3, -1, 1, 2));
        Assert.Equal(0.0, new RepetitionPenaltyReward().Score(Inputs.Text("")));
    }

    [Fact]
    public void Text_without_token_ids_is_not_applicable() =>
        Assert.True(double.IsNaN(new RepetitionPenaltyReward().Score(Inputs.Text("words words words words"))));

    [Fact]
    public void Counts_a_long_periodic_sequence_exactly()
    {
        // Period 10 over 25,000 tokens: 24,998 trigrams, 10 distinct.
        var ids = Enumerable.Range(0, 25_000).Select(i => i % 10).ToArray();
        Assert.Equal((1 - 10.0 / 24_998) * -1, Score(3, -1, ids), 12);
    }

    [Fact]
    public void Rejects_bad_options()
    {
        Assert.Throws<ArgumentOutOfRangeException>(() => new RepetitionPenaltyReward(new() { NgramSize = 0 }));
        Assert.Throws<ArgumentOutOfRangeException>(() => new RepetitionPenaltyReward(new() { MaxPenalty = 0.5 }));
        Assert.Throws<ArgumentOutOfRangeException>(() => new RepetitionPenaltyReward(new() { MaxPenalty = double.NaN }));
        Assert.Throws<ArgumentOutOfRangeException>(() => new RepetitionPenaltyReward(new() { MaxPenalty = double.NegativeInfinity }));
    }
}
