namespace Grpo.Rewards.Shaping;

/// <summary>What the token-based rewards share: how they tell "no tokens were generated" from "no token ids were given".</summary>
static class CompletionTokens
{
    /// <summary>
    /// True when the completion has text but no token ids: the caller built the input from text alone
    /// (<see cref="RewardInput.FromText"/> without ids), so a token length would be a silent 0. Scored as NaN.
    /// </summary>
    public static bool Missing(RewardInput input) => input.CompletionIds.Count == 0 && input.Completion.Length > 0;
}
