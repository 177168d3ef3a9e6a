namespace Grpo.Rewards.Shaping.Tests;

/// <summary>Builds reward inputs for the tests.</summary>
static class Inputs
{
    public static RewardInput Text(string completion) => RewardInput.FromText("prompt", completion);

    /// <summary>A completion of <paramref name="length"/> tokens whose text is one letter per token.</summary>
    public static RewardInput Tokens(int length) =>
        RewardInput.FromText("prompt", new string('a', length), completionIds: Enumerable.Range(0, length).ToArray());

    public static RewardInput Tokens(params int[] ids) =>
        RewardInput.FromText("prompt", string.Concat(ids.Select(id => $"<{id}>")), completionIds: ids);

    public static RewardInput WithCorrectness(RewardInput input, double score, string reward = "math_answer") =>
        input with { PriorScores = new Dictionary<string, double> { [reward] = score } };
}
