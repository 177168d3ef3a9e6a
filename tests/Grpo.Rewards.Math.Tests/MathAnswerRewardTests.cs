using Grpo.Rewards;

namespace Grpo.Rewards.Math.Tests;

/// <summary>The reward as training sees it: 1 correct, 0 wrong, NaN when the row's gold cannot be read.</summary>
public class MathAnswerRewardTests
{
    const string Gsm8kGold = "Natalia sold 48/2 = <<48/2=24>>24 clips in May.\nNatalia sold 48+24 = <<48+24=72>>72 clips altogether in April and May.\n#### 72";
    const string MathGold = "We have $x^2 = 4$, so the positive root is $x = \\boxed{2}$.";

    static RewardInput Input(string completion, string? gold, string field = "answer") =>
        RewardInput.FromText("How many clips?", completion, gold is null ? null : new Dictionary<string, string> { [field] = gold });

    [Fact]
    public async Task ScoresOneForACorrectAnswerAndZeroForAWrongOne()
    {
        var reward = new MathAnswerReward();
        var scores = await reward.ScoreAsync(
        [
            Input("48/2 = 24 in May, so 48 + 24 = 72 in total. The answer is \\boxed{72}.", Gsm8kGold),
            Input("She sold 48 + 48/2 = 70 clips.\n#### 70", Gsm8kGold),
            Input("I am not sure.", Gsm8kGold),
            Input("x = 2 or x = -2, and the positive one is $\\boxed{2}$", MathGold),
            Input("\\boxed{-2}", MathGold),
        ], CancellationToken.None);
        Assert.Equal([1.0, 0.0, 0.0, 1.0, 0.0], scores);
    }

    [Fact]
    public void IsNotApplicableWhenTheGoldCannotBeRead()
    {
        var reward = new MathAnswerReward();
        Assert.True(double.IsNaN(reward.Score(Input("\\boxed{1}", gold: null))));
        Assert.True(double.IsNaN(reward.Score(Input("\\boxed{1}", gold: "   "))));
        Assert.True(double.IsNaN(reward.Score(Input("\\boxed{1}", gold: "$\\frac{1}{$"))));
    }

    [Fact]
    public void ReadsTheGoldFromAConfiguredField()
    {
        var reward = new MathAnswerReward(goldField: "solution", name: "math");
        Assert.Equal("math", reward.Name);
        Assert.Equal(1.0, reward.Score(Input("so $\\boxed{\\frac{1}{2}}$", "$\\frac{2}{4}$", field: "solution")));
        Assert.True(double.IsNaN(reward.Score(Input("so $\\boxed{\\frac{1}{2}}$", "$\\frac{2}{4}$", field: "answer"))));
    }

    [Fact]
    public void ReadsANumericGoldField()
    {
        var row = new Dictionary<string, System.Text.Json.JsonElement> { ["answer"] = System.Text.Json.JsonSerializer.SerializeToElement(72) };
        var input = new RewardInput("p", "so \\boxed{72}", [], row);
        Assert.Equal(1.0, new MathAnswerReward().Score(input));
    }

    [Fact]
    public void PassesItsOptionsToTheVerifier()
    {
        var loose = new MathAnswerReward(options: MathVerifierOptions.Default with { FloatRounding = 2 });
        Assert.Equal(1.0, loose.Score(Input("\\boxed{0.33}", "$\\frac{1}{3}$")));
        Assert.Equal(0.0, new MathAnswerReward().Score(Input("\\boxed{0.33}", "$\\frac{1}{3}$")));
    }

    [Fact]
    public void RejectsAnEmptyFieldName() =>
        Assert.Throws<ArgumentException>(() => new MathAnswerReward(goldField: ""));

    [Fact]
    public async Task RunsUnderTheRewardRunnerWithoutFailures()
    {
        var runner = new RewardRunner([new MathAnswerReward()]);
        var scores = await runner.ScoreAsync([Input("\\boxed{72}", Gsm8kGold), Input("\\boxed{", Gsm8kGold), Input("\\boxed{72}", null)]);
        Assert.Empty(scores.Failures);
        Assert.Equal(1.0, scores["math_answer"][0]);
        Assert.Equal(0.0, scores["math_answer"][1]);
        Assert.True(double.IsNaN(scores["math_answer"][2]));
    }
}
