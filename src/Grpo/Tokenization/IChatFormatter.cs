namespace Grpo.Tokenization;

/// <summary>
/// Turns a conversation into the prompt text a chat model was trained on, special tokens included, so that
/// <see cref="ITokenizer.Encode"/> gives the ids the model expects. Implement it for a template this library
/// does not recognise.
/// </summary>
public interface IChatFormatter
{
    /// <summary>
    /// The conversation as prompt text; with <paramref name="addGenerationPrompt"/> it ends with the header of an
    /// assistant turn, so what the model writes next is the reply.
    /// </summary>
    string Format(IReadOnlyList<ChatMessage> messages, bool addGenerationPrompt);
}
