using Grpo.Data;
using Grpo.Rewards;
using AIChatMessage = Microsoft.Extensions.AI.ChatMessage;

namespace Grpo.Sampling;

/// <summary>Why a completion ended.</summary>
public enum FinishReason
{
    /// <summary>It produced an end-of-sequence token (the last token id).</summary>
    Eos,
    /// <summary>Its text came to contain one of the stop strings.</summary>
    StopString,
    /// <summary>It reached the token limit: the completion is truncated.</summary>
    Length,
    /// <summary>
    /// It ended its turn with tool calls after <c>MaxToolCallingIterations</c> rounds of tools had run, so its last
    /// calls were not executed (TRL leaves such a completion as it is).
    /// </summary>
    ToolCallLimit,
}

/// <summary>
/// One sampled completion of a prompt. <see cref="LogProbs"/>[i] is log p(TokenIds[i]) under the
/// temperature-scaled distribution before top-k/top-p/min-p filtering: the "old" log-probs GRPO's ratio needs.
/// </summary>
/// <param name="PromptIndex">Index of the prompt in the call's list.</param>
/// <param name="SampleIndex">Index within the prompt's group, 0 .. G-1.</param>
/// <param name="TokenIds">The generated ids, including the EOS token when one ended it.</param>
/// <param name="Text">The ids decoded with special tokens skipped.</param>
/// <param name="LogProbs">Per-token log-probs, one per id.</param>
/// <param name="FinishReason">Why it ended.</param>
public sealed record Completion(int PromptIndex, int SampleIndex, int[] TokenIds, string Text, float[] LogProbs, FinishReason FinishReason)
{
    /// <summary>True when the completion was cut off by the token limit rather than ending by itself.</summary>
    public bool Truncated => FinishReason == FinishReason.Length;

    /// <summary>
    /// Per token, whether the policy generated it (true) or it came from outside, a tool's reply rendered as the chat
    /// template renders a tool turn (false): TRL's <c>tool_mask</c>. Null when every token is the policy's. The loss,
    /// KL, entropy and clip metrics count only policy tokens; <see cref="LogProbs"/> holds 0 on the others.
    /// </summary>
    public bool[]? PolicyTokenMask { get; init; }

    /// <summary>Tool calls the completion made that were executed (TRL counts these for <c>tools/call_frequency</c>).</summary>
    public int ToolCalls { get; init; }

    /// <summary>Of <see cref="ToolCalls"/>, those that failed: unknown tool, malformed arguments, an exception or a timeout.</summary>
    public int ToolFailures { get; init; }

    /// <summary>
    /// The completion as turns when tools took part: assistant messages (text and <c>FunctionCallContent</c>s) and tool
    /// messages (<c>FunctionResultContent</c>s), in order; null for a plain single-turn completion.
    /// </summary>
    public IReadOnlyList<AIChatMessage>? Messages { get; init; }

    /// <summary>The environment the rollout ran in (TRL's <c>environment_factory</c>), for rewards that read its state; null without one.</summary>
    public object? Environment { get; init; }

    /// <summary>Tokens the policy generated: all of them unless a <see cref="PolicyTokenMask"/> says otherwise.</summary>
    public int PolicyTokenCount => PolicyTokenMask?.Count(m => m) ?? TokenIds.Length;

    /// <summary>What the reward functions see of this completion of <paramref name="problem"/>: text, ids, row, conversation and environment.</summary>
    public RewardInput ToRewardInput(Problem problem)
    {
        ArgumentNullException.ThrowIfNull(problem);
        return new RewardInput(problem.Prompt, Text, TokenIds, problem.Fields) { Messages = Messages ?? [], Environment = Environment };
    }
}
