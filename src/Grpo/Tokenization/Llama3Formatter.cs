using System.Text;

namespace Grpo.Tokenization;

/// <summary>
/// The Llama 3 chat format: <c>&lt;|begin_of_text|&gt;</c>, then each turn as
/// <c>&lt;|start_header_id|&gt;role&lt;|end_header_id|&gt;\n\ncontent&lt;|eot_id|&gt;</c> with the content trimmed,
/// and <c>&lt;|start_header_id|&gt;assistant&lt;|end_header_id|&gt;\n\n</c> as the generation prompt.
/// </summary>
/// <param name="systemPreamble">
/// Text that opens the system turn, which is then always written: Llama 3.1 and 3.2's templates put
/// "Cutting Knowledge Date: December 2023\nToday Date: 26 Jul 2024\n\n" there. Null (Llama 3.0) for none.
/// </param>
public sealed class Llama3Formatter(string? systemPreamble = null) : IChatFormatter
{
    /// <summary>The text that opens every system turn, or null.</summary>
    public string? SystemPreamble { get; } = systemPreamble;

    /// <inheritdoc />
    public string Format(IReadOnlyList<ChatMessage> messages, bool addGenerationPrompt)
    {
        var prompt = new StringBuilder("<|begin_of_text|>");
        var turns = messages.AsEnumerable();
        if (SystemPreamble is not null)
        {
            var system = messages.Count > 0 && messages[0].Role == "system" ? messages[0].Content.Trim() : "";
            AppendTurn(prompt, "system", SystemPreamble + system);
            turns = messages.Count > 0 && messages[0].Role == "system" ? messages.Skip(1) : messages;
        }
        foreach (var message in turns)
            AppendTurn(prompt, message.Role, message.Content.Trim());
        if (addGenerationPrompt)
            prompt.Append("<|start_header_id|>assistant<|end_header_id|>\n\n");
        return prompt.ToString();
    }

    static void AppendTurn(StringBuilder prompt, string role, string content) =>
        prompt.Append("<|start_header_id|>").Append(role).Append("<|end_header_id|>\n\n").Append(content).Append("<|eot_id|>");
}
