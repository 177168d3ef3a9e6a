namespace Grpo.Rewards.Shaping.Tests;

public class TagCountRewardTests
{
    static double Score(string completion) => new TagCountReward().Score(Inputs.Text(completion));

    [Theory]
    [InlineData("<think>\nr\n</think>\n<answer>\n42\n</answer>", 1.0)]
    [InlineData("", 0.0)]
    [InlineData("no tags at all", 0.0)]
    [InlineData("<think>\nr\n</think>\n", 0.5)]
    [InlineData("<think>\nr\n</think>\n<answer>\n42", 0.75)]
    [InlineData("<think>\n<think>\nr\n</think>\n<answer>\n42\n</answer>", 0.75)]  // repeated open tag loses its 0.25
    // The two "\n</think>\n" share their middle newline: str.count counts them once (non-overlapping).
    [InlineData("\n</think>\n</think>\n", 0.25)]
    [InlineData("\n</think>\nx\n</think>\n", 0.0)]
    [InlineData("<think>\r\nr\r\n</think>\r\n", 0.0)]
    [InlineData("<think>\n数学 🙂\n</think>\n", 0.5)]
    public void Scores_as_open_r1(string completion, double expected) => Assert.Equal(expected, Score(completion));
}
