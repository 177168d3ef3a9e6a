using Grpo.Tools;
using Microsoft.Extensions.AI;

namespace Grpo.Tokenization;

/// <summary>
/// A chat format that also offers tools to the model: their schemas in the prompt, the model's tool calls and the
/// tools' results as turns, each written as the model family's chat template writes them when transformers'
/// <c>apply_chat_template</c> gets <c>tools</c>; and the parser for the calls the model writes in that format.
/// </summary>
public interface IToolChatFormatter : IChatFormatter
{
    /// <summary>
    /// The conversation with <paramref name="tools"/> described in the prompt (none: the same text as
    /// <see cref="IChatFormatter.Format"/>); with <paramref name="addGenerationPrompt"/> it ends with the header of
    /// an assistant turn.
    /// </summary>
    string Format(IReadOnlyList<ChatMessage> messages, IReadOnlyList<AIFunctionDeclaration> tools, bool addGenerationPrompt);

    /// <summary>Finds the tool calls in a completion written in this format.</summary>
    ToolCallParser ToolCallParser { get; }
}
