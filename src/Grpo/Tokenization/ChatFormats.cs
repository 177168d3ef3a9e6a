using System.Text.RegularExpressions;

namespace Grpo.Tokenization;

/// <summary>
/// Picks the chat formatter that reproduces a model's chat template, by the template's markers: ChatML
/// (<c>&lt;|im_start|&gt;</c>: Qwen, SmolLM2) or Llama 3 (<c>&lt;|start_header_id|&gt;</c>). Defaults the template
/// spells out as literal text (a default system prompt, Llama 3.1's date lines) are read from it, and a ChatML
/// template that handles <c>&lt;/think&gt;</c> (Qwen3's) gets Qwen3's handling of reasoning in assistant turns. Both
/// formatters are <see cref="IToolChatFormatter"/>s.
/// </summary>
public static partial class ChatFormats
{
    /// <summary>The formatter for the config's chat template; <see cref="InvalidDataException"/> naming the file when none fits.</summary>
    public static IChatFormatter FromTokenizerConfig(TokenizerConfig config)
    {
        var template = config.ChatTemplate
            ?? throw new InvalidDataException(
                $"Tokenizer config '{config.Path}' has no chat_template, so the prompt format is unknown; "
                + "add one, or pass a ChatMlFormatter, a Llama3Formatter or your own IChatFormatter.");

        if (template.Contains("<|im_start|>"))
            return new ChatMlFormatter(Unescape(DefaultChatMlSystemPrompt().Match(template).Groups["text"]), qwen3Reasoning: template.Contains("</think>"));
        if (template.Contains("<|start_header_id|>"))
        {
            var knowledgeDate = KnowledgeDate().Match(template);
            if (!knowledgeDate.Success)
                return new Llama3Formatter();
            var todayDate = DateString().Match(template) is { Success: true } date ? date.Groups["date"].Value : "26 Jul 2024";
            return new Llama3Formatter($"Cutting Knowledge Date: {knowledgeDate.Groups["date"].Value}\nToday Date: {todayDate}\n\n");
        }
        throw new InvalidDataException(
            $"Tokenizer config '{config.Path}' has a chat_template this library does not recognise (it has neither ChatML's "
            + "'<|im_start|>' nor Llama 3's '<|start_header_id|>'); implement IChatFormatter for it and pass that instead.");
    }

    // A whole system turn written as one literal string, as Qwen2.5 and SmolLM2 do for conversations without one:
    // '<|im_start|>system\nYou are ...<|im_end|>\n'. Qwen3 builds its system turn from the message, so nothing matches.
    [GeneratedRegex(@"['""]<\|im_start\|>system\\n(?<text>[^'""+{}]*)<\|im_end\|>\\n['""]")]
    private static partial Regex DefaultChatMlSystemPrompt();

    [GeneratedRegex(@"Cutting Knowledge Date: (?<date>[^""'\\]+)")]
    private static partial Regex KnowledgeDate();

    [GeneratedRegex(@"set date_string = [""'](?<date>[^""']+)[""']")]
    private static partial Regex DateString();

    // The template's string literals are Jinja (Python) strings; the prompts only use these escapes.
    static string? Unescape(Group text) =>
        text.Success ? text.Value.Replace("\\n", "\n").Replace("\\'", "'").Replace("\\\"", "\"") : null;
}
