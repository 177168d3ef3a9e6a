using Microsoft.Extensions.AI;
using AIChatMessage = Microsoft.Extensions.AI.ChatMessage;

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

    /// <summary>
    /// A <c>tool</c> turn holding a tool's result: a string as is, anything else as Python's <c>json.dumps</c> writes
    /// it (<c>{"temperature": 21.5}</c>), as Qwen's function-calling guide and TRL's tool loop give results to the model.
    /// </summary>
    public static ChatMessage ToolResult(object? result) => new("tool", result as string ?? PythonJson.Dumps(result));

    /// <summary>
    /// Microsoft.Extensions.AI's messages as turns: text and <see cref="FunctionCallContent"/>s keep their turn, and
    /// a message with <see cref="FunctionResultContent"/>s becomes one <see cref="ToolResult"/> turn per result.
    /// Other contents (images, reasoning) are not part of these formats and are left out.
    /// </summary>
    public static IReadOnlyList<ChatMessage> FromAI(IEnumerable<AIChatMessage> messages)
    {
        var turns = new List<ChatMessage>();
        foreach (var message in messages)
        {
            var results = message.Contents.OfType<FunctionResultContent>().ToList();
            if (results.Count > 0)
            {
                turns.AddRange(results.Select(r => ToolResult(r.Result)));
                continue;
            }
            var calls = message.Contents.OfType<FunctionCallContent>().ToList();
            turns.Add(new ChatMessage(message.Role.Value, message.Text) { ToolCalls = calls.Count > 0 ? calls : null });
        }
        return turns;
    }
}
