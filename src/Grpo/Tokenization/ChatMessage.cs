using Microsoft.Extensions.AI;

namespace Grpo.Tokenization;

/// <summary>
/// One turn of a conversation: who speaks (<c>system</c>, <c>user</c>, <c>assistant</c>, <c>tool</c>) and what they
/// say. An assistant turn may also carry the tool calls it made, and a <c>tool</c> turn holds one call's result as
/// text, in the order of the calls: the shape of the OpenAI messages that chat templates render.
/// </summary>
/// <param name="Role">The speaker's role, written into the prompt as is.</param>
/// <param name="Content">The message text; for a <c>tool</c> turn, the tool's result.</param>
public sealed record ChatMessage(string Role, string Content)
{
    /// <summary>
    /// The tool calls of an assistant turn (name and arguments; the call id is not rendered by the templates), or
    /// null. An empty list renders as no calls.
    /// </summary>
    public IReadOnlyList<FunctionCallContent>? ToolCalls { get; init; }

    /// <summary>Whether this turn carries at least one tool call.</summary>
    public bool HasToolCalls => ToolCalls is { Count: > 0 };
}
