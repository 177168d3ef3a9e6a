using Grpo.Tokenization;
using Grpo.Training;

namespace Grpo.Samples.MathReasoning;

/// <summary>
/// How a question becomes the prompt text: the model's chat format, with an optional system message. Training and
/// evaluation use the same one, so the model is measured on exactly the prompts it learns from.
/// </summary>
/// <param name="Chat">The model's chat template.</param>
/// <param name="SystemPrompt">A system message before the question, or null for none.</param>
public sealed record PromptFormat(IChatFormatter Chat, string? SystemPrompt)
{
    /// <summary>
    /// The instruction given to a real checkpoint (<c>--model</c>): say how to mark the final answer, so the maths
    /// reward can find it. The built-in model needs none; it only ever saw this layout.
    /// </summary>
    public const string Gsm8kInstruction =
        "Solve the problem step by step. Write the final answer as a number on the last line, after '#### '.";

    /// <summary>The built-in model's format: ChatML, the bare question as the user turn.</summary>
    public static readonly PromptFormat BuiltIn = new(new ChatMlFormatter(), null);

    /// <summary>The prompt text for a question, ending in the assistant header.</summary>
    public string Format(string question) => PromptEncoder.Format(Chat, SystemPrompt, question);
}
