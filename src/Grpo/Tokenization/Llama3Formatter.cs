using System.Text;
using Grpo.Tools;
using Microsoft.Extensions.AI;

namespace Grpo.Tokenization;

/// <summary>
/// The Llama 3 chat format: <c>&lt;|begin_of_text|&gt;</c>, then each turn as
/// <c>&lt;|start_header_id|&gt;role&lt;|end_header_id|&gt;\n\ncontent&lt;|eot_id|&gt;</c> with the content trimmed,
/// and <c>&lt;|start_header_id|&gt;assistant&lt;|end_header_id|&gt;\n\n</c> as the generation prompt. Tools are
/// written as Llama 3.1's template writes them (JSON tool calls, not its built-in tools): "Environment: ipython" in
/// the system turn, the tools' schemas as indented JSON in the first user turn (or the system turn, without
/// <see cref="ToolsInUserMessage"/>), a call as the assistant turn <c>{"name": ..., "parameters": ...}</c> in place of
/// its text, and a result as an <c>ipython</c> turn holding the result as a JSON string.
/// </summary>
/// <param name="systemPreamble">
/// Text that opens the system turn, which is then always written: Llama 3.1 and 3.2's templates put
/// "Cutting Knowledge Date: December 2023\nToday Date: 26 Jul 2024\n\n" there, the date being the template's
/// <c>date_string</c>, pinned. Null (Llama 3.0, whose template has no tools) for none.
/// </param>
public sealed class Llama3Formatter(string? systemPreamble = null) : IToolChatFormatter
{
    const string ToolFormat =
        "Respond in the format {\"name\": function name, \"parameters\": dictionary of argument name and its value}.Do not use variables.\n\n";

    /// <summary>The text that opens every system turn, or null.</summary>
    public string? SystemPreamble { get; } = systemPreamble;

    /// <summary>
    /// Whether tools are described at the start of the first user turn (true, the template's default) or in the
    /// system turn: the template's <c>tools_in_user_message</c>.
    /// </summary>
    public bool ToolsInUserMessage { get; init; } = true;

    /// <inheritdoc />
    public ToolCallParser ToolCallParser => ToolCallParser.Llama3;

    /// <inheritdoc />
    public string Format(IReadOnlyList<ChatMessage> messages, bool addGenerationPrompt) => Format(messages, [], addGenerationPrompt);

    /// <inheritdoc />
    /// <exception cref="ArgumentException">
    /// Tools without a system preamble (Llama 3.0) or without a first message to put them in, or an assistant turn
    /// with more than one call: the template refuses these too.
    /// </exception>
    public string Format(IReadOnlyList<ChatMessage> messages, IReadOnlyList<AIFunctionDeclaration> tools, bool addGenerationPrompt)
    {
        var hasTools = tools.Count > 0;
        if (hasTools && SystemPreamble is null)
            throw new ArgumentException(
                "Llama 3.0's chat template has no tools; use a Llama 3.1+ model and template (a Llama3Formatter with its system preamble).", nameof(tools));

        var prompt = new StringBuilder("<|begin_of_text|>");
        var turns = messages.AsEnumerable();
        if (SystemPreamble is not null)
        {
            var hasSystem = messages.Count > 0 && messages[0].Role == "system";
            prompt.Append("<|start_header_id|>system<|end_header_id|>\n\n");
            if (hasTools)
                prompt.Append("Environment: ipython\n");
            prompt.Append(SystemPreamble);
            if (hasTools && !ToolsInUserMessage)
                AppendTools(prompt.Append("You have access to the following functions. To call a function, please respond with JSON for a function call."), tools);
            prompt.Append(hasSystem ? JinjaText.Trim(messages[0].Content) : "").Append("<|eot_id|>");
            turns = hasSystem ? messages.Skip(1) : messages;
        }
        if (hasTools && ToolsInUserMessage)
        {
            // The template takes the first message after the system turn, whatever its role, as the user's.
            var first = turns.FirstOrDefault()
                ?? throw new ArgumentException("Llama 3.1's template puts the tools in the first user message, and this conversation has none; add one, or set ToolsInUserMessage = false.", nameof(messages));
            prompt.Append("<|start_header_id|>user<|end_header_id|>\n\n")
                .Append("Given the following functions, please respond with a JSON for a function call with its proper arguments that best answers the given prompt.\n\n");
            AppendTools(prompt, tools);
            prompt.Append(JinjaText.Trim(first.Content)).Append("<|eot_id|>");
            turns = turns.Skip(1);
        }

        foreach (var message in turns)
        {
            if (message.Role is "tool" or "ipython")
            {
                // The template's 'content is iterable' holds for a string, so the result is written as a JSON string.
                prompt.Append("<|start_header_id|>ipython<|end_header_id|>\n\n");
                PythonJson.Write(prompt, message.Content, indent: null);
                prompt.Append("<|eot_id|>");
            }
            else if (message.HasToolCalls)
            {
                if (message.ToolCalls!.Count != 1)
                    throw new ArgumentException(
                        $"Llama 3.1's chat template writes one tool call per assistant turn, and a turn has {message.ToolCalls.Count}; split them into turns of one call each, with each result after its call.", nameof(messages));
                var call = message.ToolCalls[0];
                prompt.Append("<|start_header_id|>assistant<|end_header_id|>\n\n{\"name\": \"").Append(call.Name).Append("\", \"parameters\": ");
                PythonJson.Write(prompt, call.Arguments ?? new Dictionary<string, object?>(), indent: null);
                prompt.Append("}<|eot_id|>");
            }
            else
                prompt.Append("<|start_header_id|>").Append(message.Role).Append("<|end_header_id|>\n\n")
                    .Append(JinjaText.Trim(message.Content)).Append("<|eot_id|>");
        }
        if (addGenerationPrompt)
            prompt.Append("<|start_header_id|>assistant<|end_header_id|>\n\n");
        return prompt.ToString();
    }

    static void AppendTools(StringBuilder prompt, IReadOnlyList<AIFunctionDeclaration> tools)
    {
        prompt.Append(ToolFormat);
        foreach (var tool in tools)
        {
            ToolSchema.Write(prompt, tool, indent: 4);
            prompt.Append("\n\n");
        }
    }
}
