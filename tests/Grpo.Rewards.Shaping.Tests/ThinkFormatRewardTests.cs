namespace Grpo.Rewards.Shaping.Tests;

public class ThinkFormatRewardTests
{
    static double Score(string completion) => new ThinkFormatReward().Score(Inputs.Text(completion));

    [Theory]
    // TRL's docstring examples.
    [InlineData("<think>\nThis is my reasoning.\n</think>\nThis is my answer.", 1.0)]
    [InlineData("<think>\nThis is my reasoning.\nThis is my answer.", 0.0)]
    [InlineData("<think></think>", 1.0)]
    [InlineData("<think>a</think></think>", 1.0)]          // a second close tag is allowed
    [InlineData("<think>数学 🙂</think>答案是 42", 1.0)]
    [InlineData("", 0.0)]
    [InlineData(" <think>a</think>", 0.0)]                  // must start the text
    [InlineData("answer <think>a</think>", 0.0)]
    [InlineData("<think><think>a</think></think>", 0.0)]   // nested
    [InlineData("<think>a</think><think>b</think>", 0.0)]  // repeated
    [InlineData("<think>a</think>\nlater <think>", 0.0)]
    [InlineData("<THINK>a</THINK>", 0.0)]                   // case-sensitive
    [InlineData("<think>a</ think>", 0.0)]
    public void Scores_as_trl(string completion, double expected) => Assert.Equal(expected, Score(completion));
}
