namespace Grpo.Rewards.Shaping.Tests;

public class ReasoningStepsRewardTests
{
    static double Score(string completion) => new ReasoningStepsReward().Score(Inputs.Text(completion));

    [Theory]
    [InlineData("Step 1: a\nStep 2: b\nStep 3: c", 3)]
    [InlineData("Step 1: a\nStep 2: b\nStep 3: c\nStep 4: d", 4)]  // saturates at 1
    [InlineData("First, a. Second, b.", 2)]
    [InlineData("Next, a. Finally, b.", 2)]
    [InlineData("1. a\n2. b\n3. c", 1)]        // numbered lines count only at the start of the text (no MULTILINE)
    [InlineData("intro\n1. a\n2. b", 0)]
    [InlineData("- a\n- b\n* c", 2)]           // a bullet is a newline then - or *: not the first line's
    [InlineData("Step 12: a", 1)]
    [InlineData("Step ٣: a", 1)]               // \d is any Unicode decimal digit, as in Python
    [InlineData("Step 𝟓: a", 1)]               // ... including those beyond the BMP (surrogate pairs)
    [InlineData("𝟓. a\n- b", 2)]
    [InlineData("step 1: first, then", 0)]     // case-sensitive
    [InlineData("Step : a. Step x: b", 0)]
    [InlineData("", 0)]
    [InlineData("数学 🙂", 0)]
    public void Counts_markers_as_open_r1(string completion, int count) =>
        Assert.Equal(Math.Min(1.0, count / 3.0), Score(completion));
}
