using Grpo.Tokenization;
using Grpo.Training;
using Microsoft.Extensions.AI;
using ChatMessage = Grpo.Tokenization.ChatMessage;

namespace Grpo.Samples.MathReasoning;

/// <summary>
/// How a question becomes the prompt text: the model's chat format, with an optional system message and the tools it
/// may call. Training and evaluation use the same one, so the model is measured on exactly the prompts it learns from.
/// </summary>
/// <param name="Chat">The model's chat template; one that renders tools (<see cref="IToolChatFormatter"/>) when there are tools.</param>
/// <param name="SystemPrompt">A system message before the question, or null for none.</param>
/// <param name="Tools">Tools described in the prompt, which the model may call; null for none.</param>
public sealed record PromptFormat(IChatFormatter Chat, string? SystemPrompt, IReadOnlyList<AIFunction>? Tools = null)
{
    /// <summary>
    /// The instruction given to a real checkpoint (<c>--model</c>): say how to mark the final answer, so the maths
    /// reward can find it. The built-in model needs none; it only ever saw this layout.
    /// </summary>
    public const string Gsm8kInstruction =
        "Solve the problem step by step. Write the final answer as a number on the last line, after '#### '.";

    /// <summary>The built-in model's format: ChatML, the bare question as the user turn.</summary>
    public static readonly PromptFormat BuiltIn = new(new ChatMlFormatter(), null);

    /// <summary>The tools described in the prompt; empty for none.</summary>
    public IReadOnlyList<AIFunction> ToolList => Tools ?? [];

    /// <summary>The prompt text for a question, ending in the assistant header: what the trainer feeds the model.</summary>
    public string Format(string question) => PromptEncoder.Format(Chat, SystemPrompt, question, ToolList);

    /// <summary>
    /// The text of a whole conversation: the question as <see cref="Format(string)"/> puts it, followed by
    /// <paramref name="reply"/> (assistant and tool turns), with the next assistant header if <paramref name="addGenerationPrompt"/>.
    /// </summary>
    public string Format(string question, IReadOnlyList<ChatMessage> reply, bool addGenerationPrompt)
    {
        ChatMessage[] messages = SystemPrompt is null
            ? [new ChatMessage("user", question), .. reply]
            : [new ChatMessage("system", SystemPrompt), new ChatMessage("user", question), .. reply];
        if (ToolList.Count == 0) return Chat.Format(messages, addGenerationPrompt);
        if (Chat is not IToolChatFormatter toolFormat)
            throw new InvalidOperationException("Tools are described by the chat format; give a PromptFormat with tools a format that renders them (ChatMlFormatter).");
        return toolFormat.Format(messages, ToolList, addGenerationPrompt);
    }
}
