using System.Text;

namespace Grpo.Tokenization;

/// <summary>
/// ChatML, the format of Qwen and SmolLM2: each turn is <c>&lt;|im_start|&gt;role\ncontent&lt;|im_end|&gt;\n</c> and the
/// generation prompt is <c>&lt;|im_start|&gt;assistant\n</c>. Content is written verbatim: Qwen3's template also moves
/// <c>&lt;think&gt;</c> blocks out of earlier assistant turns, which prompts of user and system turns never meet.
/// </summary>
/// <param name="defaultSystemPrompt">
/// A system message put first when the conversation does not start with one, as Qwen2.5's template does
/// ("You are Qwen, created by Alibaba Cloud. You are a helpful assistant."); null (Qwen3) for none.
/// </param>
public sealed class ChatMlFormatter(string? defaultSystemPrompt = null) : IChatFormatter
{
    /// <summary>
    /// A Jinja chat template for plain ChatML, for <c>tokenizer_config.json</c> files written by this library,
    /// so that both this library and Hugging Face's transformers format prompts the same way.
    /// </summary>
    public const string JinjaTemplate =
        "{% for message in messages %}{{ '<|im_start|>' + message['role'] + '\\n' + message['content'] + '<|im_end|>' + '\\n' }}{% endfor %}"
        + "{% if add_generation_prompt %}{{ '<|im_start|>assistant\\n' }}{% endif %}";

    /// <summary>The system message used when a conversation has none, or null.</summary>
    public string? DefaultSystemPrompt { get; } = defaultSystemPrompt;

    /// <inheritdoc />
    public string Format(IReadOnlyList<ChatMessage> messages, bool addGenerationPrompt)
    {
        var prompt = new StringBuilder();
        if (DefaultSystemPrompt is not null && (messages.Count == 0 || messages[0].Role != "system"))
            AppendTurn(prompt, "system", DefaultSystemPrompt);
        foreach (var message in messages)
            AppendTurn(prompt, message.Role, message.Content);
        if (addGenerationPrompt)
            prompt.Append("<|im_start|>assistant\n");
        return prompt.ToString();
    }

    static void AppendTurn(StringBuilder prompt, string role, string content) =>
        prompt.Append("<|im_start|>").Append(role).Append('\n').Append(content).Append("<|im_end|>\n");
}
