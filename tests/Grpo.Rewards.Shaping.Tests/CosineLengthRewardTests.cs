namespace Grpo.Rewards.Shaping.Tests;

public class CosineLengthRewardTests
{
    static readonly CosineLengthReward Reward = new(); // L_max = 1000; correct 1.0 -> 0.5; wrong -1.0 -> -0.5

    static double Score(int length, double correctness) =>
        Reward.Score(Inputs.WithCorrectness(Inputs.Tokens(length), correctness));

    [Theory]
    // R = v_end + 0.5 (v_start - v_end)(1 + cos(pi L / L_max)); cos(pi/4) = 0.70710678118654752.
    [InlineData(0, 1.0, 1.0)]
    [InlineData(250, 1.0, 0.92677669529663688)]  // 0.5 + 0.25 * 1.70710678118654752
    [InlineData(500, 1.0, 0.75)]
    [InlineData(1000, 1.0, 0.5)]
    [InlineData(2000, 1.0, 0.5)]                  // clamped at L_max
    [InlineData(0, 0.0, -1.0)]
    [InlineData(250, 0.0, -0.92677669529663688)]  // -0.5 - 0.25 * 1.70710678118654752
    [InlineData(500, 0.0, -0.75)]
    [InlineData(1000, 0.0, -0.5)]
    [InlineData(1500, 0.0, -0.5)]
    public void Follows_the_cosine_schedule(int length, double correctness, double expected) =>
        Assert.Equal(expected, Score(length, correctness), 12);

    [Fact]
    public void Threshold_decides_correctness()
    {
        Assert.Equal(1.0, Score(0, 0.5));
        Assert.Equal(-1.0, Score(0, 0.4999));
        var strict = new CosineLengthReward(new() { CorrectThreshold = 1.0 });
        Assert.Equal(-1.0, strict.Score(Inputs.WithCorrectness(Inputs.Tokens(0), 0.9)));
    }

    [Fact]
    public void Not_applicable_correctness_or_missing_ids_give_nan()
    {
        Assert.True(double.IsNaN(Score(10, double.NaN)));
        Assert.True(double.IsNaN(Reward.Score(Inputs.WithCorrectness(Inputs.Text("text, no ids"), 1.0))));
    }

    [Fact]
    public void Missing_dependency_score_says_how_to_fix()
    {
        var e = Assert.Throws<InvalidOperationException>(() => Reward.Score(Inputs.Tokens(3)));
        Assert.Contains("'math_answer'", e.Message);
        Assert.Contains("RewardRunner", e.Message);
    }

    [Fact]
    public void Rejects_bad_options()
    {
        Assert.Throws<ArgumentOutOfRangeException>(() => new CosineLengthReward(new() { MaxLength = 0 }));
        Assert.Throws<ArgumentException>(() => new CosineLengthReward(new() { CorrectnessReward = "" }));
        Assert.Throws<ArgumentOutOfRangeException>(() => new CosineLengthReward(new() { MinValueCorrect = double.NaN }));
    }

    /// <summary>Scores 1 when the completion contains the row's "answer", 0 when not, NaN when the row has none.</summary>
    sealed class ContainsAnswerReward : RewardFunction
    {
        public override string Name => "contains_answer";

        public override double Score(RewardInput input) =>
            input.Field("answer") is { } answer ? (input.Completion.Contains(answer) ? 1 : 0) : double.NaN;
    }

    [Fact]
    public async Task Reads_correctness_through_the_runner()
    {
        var cosine = new CosineLengthReward(new() { CorrectnessReward = "contains_answer", MaxLength = 4 });
        Assert.Equal(["contains_answer"], cosine.DependsOn);
        var runner = new RewardRunner([cosine, new ContainsAnswerReward()]);
        var row = new Dictionary<string, string> { ["answer"] = "42" };
        RewardInput[] inputs =
        [
            RewardInput.FromText("p", "42", row, [1, 2]),          // correct, L = 2: 0.5 + 0.25 (1 + cos(pi/2)) = 0.75
            RewardInput.FromText("p", "41", row, [1, 2, 3, 4]),    // wrong, L = L_max: -0.5
            RewardInput.FromText("p", "42", null, [1]),            // no gold answer: NaN propagates
        ];

        var scores = await runner.ScoreAsync(inputs);

        Assert.Empty(scores.Failures);
        Assert.Equal([1.0, 0.0, double.NaN], scores["contains_answer"]);
        Assert.Equal(0.75, scores["cosine_length"][0], 12);
        Assert.Equal(-0.5, scores["cosine_length"][1], 12);
        Assert.True(double.IsNaN(scores["cosine_length"][2]));
    }

    [Fact]
    public void Runner_refuses_cosine_without_its_correctness_reward()
    {
        var e = Assert.Throws<ArgumentException>(() => new RewardRunner([new CosineLengthReward()]));
        Assert.Contains("'math_answer'", e.Message);
    }
}
