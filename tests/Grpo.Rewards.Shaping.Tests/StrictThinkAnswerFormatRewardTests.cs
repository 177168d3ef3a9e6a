namespace Grpo.Rewards.Shaping.Tests;

public class StrictThinkAnswerFormatRewardTests
{
    static double Score(string completion) => new StrictThinkAnswerFormatReward().Score(Inputs.Text(completion));

    [Theory]
    [InlineData("<think>\nreasoning\n</think>\n<answer>\n42\n</answer>", 1.0)]
    [InlineData("<think>\n\n</think>\n<answer>\n\n</answer>", 1.0)]            // empty blocks need both newlines
    [InlineData("<think>\n</think>\n<answer>\n42\n</answer>", 0.0)]
    [InlineData("<think>\nr\n</think>\n<answer>\n42\n</answer>\n", 1.0)]
    [InlineData("<think>\nr\n</think>\n<answer>\n42\n</answer>\nafter", 1.0)]  // MULTILINE $ before a newline
    [InlineData("<think>\nr\n</think>\n<answer>\n42\n</answer> after", 0.0)]
    [InlineData("<think>\n<think>\nr\n</think>\n<answer>\n1\n</answer>", 1.0)] // lazy .*? spans a nested tag
    [InlineData("<think>\nr\n</think>\n<answer>\n1\n</answer>\n</answer>", 1.0)]
    [InlineData("<think>\n推理 🙂\n</think>\n<answer>\n答案\n</answer>", 1.0)]
    [InlineData("", 0.0)]
    [InlineData(" <think>\nr\n</think>\n<answer>\n42\n</answer>", 0.0)]
    [InlineData("x\n<think>\nr\n</think>\n<answer>\n42\n</answer>", 0.0)]      // match only at position 0
    [InlineData("<think>\r\nr\r\n</think>\r\n<answer>\r\n42\r\n</answer>", 0.0)]
    [InlineData("<think>\nr\n</think>\n42", 0.0)]
    public void Scores_as_open_r1(string completion, double expected) => Assert.Equal(expected, Score(completion));
}
