using System.Text;
using Grpo.Tools;
using Microsoft.Extensions.AI;

namespace Grpo.Tokenization;

/// <summary>
/// ChatML, the format of Qwen and SmolLM2: each turn is <c>&lt;|im_start|&gt;role\ncontent&lt;|im_end|&gt;\n</c> and the
/// generation prompt is <c>&lt;|im_start|&gt;assistant\n</c>. Tools, tool calls and tool results are written as
/// Qwen2.5's and Qwen3's templates write them: the tools' JSON schemas between <c>&lt;tools&gt;</c> tags in the system
/// turn, each call as <c>&lt;tool_call&gt;\n{"name": ..., "arguments": ...}\n&lt;/tool_call&gt;</c>, and consecutive
/// results in one user turn, each between <c>&lt;tool_response&gt;</c> tags. Other roles are written as turns of
/// that role.
/// </summary>
/// <param name="defaultSystemPrompt">
/// A system message put first when the conversation does not start with one, as Qwen2.5's template does
/// ("You are Qwen, created by Alibaba Cloud. You are a helpful assistant."); null (Qwen3) for none.
/// </param>
/// <param name="qwen3Reasoning">
/// Write assistant turns as Qwen3's template does: a <c>&lt;think&gt;</c> block in a turn before the last user query is
/// removed, and turns after it are written as <c>&lt;think&gt;\nreasoning\n&lt;/think&gt;\n\nanswer</c> (the last turn
/// always, with an empty block when it has none).
/// </param>
public sealed class ChatMlFormatter(string? defaultSystemPrompt = null, bool qwen3Reasoning = false) : IToolChatFormatter
{
    /// <summary>
    /// A Jinja chat template for plain ChatML, for <c>tokenizer_config.json</c> files written by this library,
    /// so that both this library and Hugging Face's transformers format prompts the same way.
    /// </summary>
    public const string JinjaTemplate =
        "{% for message in messages %}{{ '<|im_start|>' + message['role'] + '\\n' + message['content'] + '<|im_end|>' + '\\n' }}{% endfor %}"
        + "{% if add_generation_prompt %}{{ '<|im_start|>assistant\\n' }}{% endif %}";

    const string ToolsPreamble =
        "# Tools\n\nYou may call one or more functions to assist with the user query.\n\n"
        + "You are provided with function signatures within <tools></tools> XML tags:\n<tools>";

    const string ToolsInstructions =
        "\n</tools>\n\nFor each function call, return a json object with function name and arguments within "
        + "<tool_call></tool_call> XML tags:\n<tool_call>\n{\"name\": <function-name>, \"arguments\": <args-json-object>}\n</tool_call>";

    /// <summary>The system message used when a conversation has none, or null.</summary>
    public string? DefaultSystemPrompt { get; } = defaultSystemPrompt;

    /// <summary>Whether assistant turns get Qwen3's handling of <c>&lt;think&gt;</c> blocks.</summary>
    public bool Qwen3Reasoning { get; } = qwen3Reasoning;

    /// <inheritdoc />
    public ToolCallParser ToolCallParser => ToolCallParser.Qwen;

    /// <inheritdoc />
    public string Format(IReadOnlyList<ChatMessage> messages, bool addGenerationPrompt) => Format(messages, [], addGenerationPrompt);

    /// <inheritdoc />
    public string Format(IReadOnlyList<ChatMessage> messages, IReadOnlyList<AIFunctionDeclaration> tools, bool addGenerationPrompt)
    {
        var prompt = new StringBuilder();
        var system = messages.Count > 0 && messages[0].Role == "system" ? messages[0].Content : DefaultSystemPrompt;
        if (tools.Count > 0)
        {
            prompt.Append("<|im_start|>system\n");
            if (system is not null)
                prompt.Append(system).Append("\n\n");
            prompt.Append(ToolsPreamble);
            foreach (var tool in tools)
                ToolSchema.Write(prompt.Append('\n'), tool, indent: null);
            prompt.Append(ToolsInstructions).Append("<|im_end|>\n");
        }
        else if (system is not null)
            AppendTurn(prompt, "system", system);

        var lastQuery = LastUserQuery(messages);
        for (var i = 0; i < messages.Count; i++)
        {
            var message = messages[i];
            switch (message.Role)
            {
                case "system" when i == 0:
                    break;
                case "assistant":
                    AppendAssistant(prompt, message, afterLastQuery: i > lastQuery, last: i == messages.Count - 1);
                    break;
                case "tool":
                    // Consecutive results share one user turn.
                    if (i == 0 || messages[i - 1].Role != "tool")
                        prompt.Append("<|im_start|>user");
                    prompt.Append("\n<tool_response>\n").Append(message.Content).Append("\n</tool_response>");
                    if (i == messages.Count - 1 || messages[i + 1].Role != "tool")
                        prompt.Append("<|im_end|>\n");
                    break;
                default:
                    AppendTurn(prompt, message.Role, message.Content);
                    break;
            }
        }
        if (addGenerationPrompt)
            prompt.Append("<|im_start|>assistant\n");
        return prompt.ToString();
    }

    void AppendAssistant(StringBuilder prompt, ChatMessage message, bool afterLastQuery, bool last)
    {
        // The answer decides whether a newline separates it from the first call; the text may add reasoning to it.
        var answer = message.Content;
        var text = answer;
        if (Qwen3Reasoning)
        {
            var reasoning = "";
            var lastEnd = answer.LastIndexOf("</think>", StringComparison.Ordinal);
            if (lastEnd >= 0)
            {
                // Qwen3's split('</think>'): the answer follows the last '</think>'; the reasoning is what precedes
                // the first one, after its last '<think>'.
                var beforeFirstEnd = answer[..answer.IndexOf("</think>", StringComparison.Ordinal)].TrimEnd('\n');
                var thinkStart = beforeFirstEnd.LastIndexOf("<think>", StringComparison.Ordinal);
                reasoning = (thinkStart < 0 ? beforeFirstEnd : beforeFirstEnd[(thinkStart + "<think>".Length)..]).TrimStart('\n');
                answer = answer[(lastEnd + "</think>".Length)..].TrimStart('\n');
            }
            text = afterLastQuery && (last || reasoning.Length > 0)
                ? "<think>\n" + reasoning.Trim('\n') + "\n</think>\n\n" + answer.TrimStart('\n')
                : answer;
        }

        prompt.Append("<|im_start|>assistant\n").Append(text);
        var calls = message.ToolCalls ?? [];
        for (var i = 0; i < calls.Count; i++)
        {
            if (i > 0 || answer.Length > 0)
                prompt.Append('\n');
            prompt.Append("<tool_call>\n{\"name\": \"").Append(calls[i].Name).Append("\", \"arguments\": ");
            PythonJson.Write(prompt, calls[i].Arguments ?? new Dictionary<string, object?>(), indent: null);
            prompt.Append("}\n</tool_call>");
        }
        prompt.Append("<|im_end|>\n");
    }

    // Qwen3's last_query_index: the last user turn that is not a tool response wrapped as one; the last message
    // when there is none, so that no assistant turn counts as after it.
    static int LastUserQuery(IReadOnlyList<ChatMessage> messages)
    {
        for (var i = messages.Count - 1; i >= 0; i--)
        {
            var message = messages[i];
            if (message.Role == "user"
                && !(message.Content.StartsWith("<tool_response>", StringComparison.Ordinal) && message.Content.EndsWith("</tool_response>", StringComparison.Ordinal)))
                return i;
        }
        return messages.Count - 1;
    }

    static void AppendTurn(StringBuilder prompt, string role, string content) =>
        prompt.Append("<|im_start|>").Append(role).Append('\n').Append(content).Append("<|im_end|>\n");
}
