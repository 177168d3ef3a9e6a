using Grpo.Data;
using Grpo.Tokenization;
using Microsoft.Extensions.AI;
using ChatMessage = Grpo.Tokenization.ChatMessage;

namespace Grpo.Training;

/// <summary>
/// Turns a problem into the token ids the model is prompted with: the chat template (with an optional system message)
/// around the problem's prompt, then the tokenizer. Checks that a prompt leaves room in the model's context for the
/// longest completion, so an overlong row is refused before training rather than trained on garbage positions.
/// </summary>
public sealed class PromptEncoder
{
    private readonly ITokenizer _tokenizer;

    /// <summary>Encodes with <paramref name="tokenizer"/>; <paramref name="chatFormat"/> null feeds the prompt text as it is.</summary>
    /// <exception cref="ArgumentException"><paramref name="tools"/> are given but the chat format cannot describe tools.</exception>
    public PromptEncoder(ITokenizer tokenizer, IChatFormatter? chatFormat = null, string? systemPrompt = null, IReadOnlyList<AIFunctionDeclaration>? tools = null)
    {
        ArgumentNullException.ThrowIfNull(tokenizer);
        if (tools is { Count: > 0 } && chatFormat is not IToolChatFormatter)
            throw new ArgumentException("Tools are described to the model by its chat format; give a chat format that renders tools (ChatMlFormatter, Llama3Formatter).", nameof(chatFormat));
        _tokenizer = tokenizer;
        ChatFormat = chatFormat;
        SystemPrompt = systemPrompt;
        Tools = tools ?? [];
    }

    /// <summary>The chat template the prompt is put in; null for none.</summary>
    public IChatFormatter? ChatFormat { get; }

    /// <summary>The system message put before each prompt when there is a chat template; null for none.</summary>
    public string? SystemPrompt { get; }

    /// <summary>The tools described in every prompt (TRL passes <c>tools</c> to the chat template); empty for none.</summary>
    public IReadOnlyList<AIFunctionDeclaration> Tools { get; }

    /// <summary>The text the model sees for <paramref name="problem"/>, generation prompt included.</summary>
    public string Format(Problem problem)
    {
        ArgumentNullException.ThrowIfNull(problem);
        return Format(ChatFormat, SystemPrompt, problem.Prompt, Tools);
    }

    /// <summary>
    /// <paramref name="prompt"/> as the user turn of <paramref name="chatFormat"/>, after <paramref name="systemPrompt"/>
    /// when given, ending in the assistant header; the prompt as it is when there is no chat format.
    /// </summary>
    /// <param name="chatFormat">The chat template; null for none.</param>
    /// <param name="systemPrompt">The system message; null for none.</param>
    /// <param name="prompt">The user's turn.</param>
    /// <param name="tools">Tools to describe in the prompt; the format must then be an <see cref="IToolChatFormatter"/>.</param>
    public static string Format(IChatFormatter? chatFormat, string? systemPrompt, string prompt, IReadOnlyList<AIFunctionDeclaration>? tools = null)
    {
        ArgumentNullException.ThrowIfNull(prompt);
        if (chatFormat is null) return prompt;
        ChatMessage[] messages = systemPrompt is null
            ? [new ChatMessage("user", prompt)]
            : [new ChatMessage("system", systemPrompt), new ChatMessage("user", prompt)];
        return tools is { Count: > 0 } && chatFormat is IToolChatFormatter toolFormat
            ? toolFormat.Format(messages, tools, addGenerationPrompt: true)
            : chatFormat.Format(messages, addGenerationPrompt: true);
    }

    /// <summary>The token ids of <paramref name="problem"/>'s formatted prompt.</summary>
    public int[] Encode(Problem problem) => _tokenizer.Encode(Format(problem));

    /// <summary>
    /// Encodes every row of <paramref name="rows"/>, checking that each prompt plus <paramref name="maxCompletionLength"/>
    /// tokens fits in <paramref name="contextLength"/>. A longer prompt is refused, naming its row and the lengths,
    /// unless <paramref name="truncateLeft"/> is set: it then keeps the prompt's last tokens (the question and the
    /// generation prompt, losing the start of the system message or context).
    /// </summary>
    /// <param name="rows">The problems, in order; errors name rows 1-based.</param>
    /// <param name="setName">What the rows are ("training set", "eval set"), for messages.</param>
    /// <param name="maxCompletionLength">Tokens each completion may add.</param>
    /// <param name="contextLength">The model's context (<c>max_position_embeddings</c>).</param>
    /// <param name="truncateLeft">Cut overlong prompts on the left instead of refusing them.</param>
    /// <exception cref="ArgumentException"><paramref name="maxCompletionLength"/> leaves no room for a prompt.</exception>
    /// <exception cref="InvalidDataException">A row's prompt is empty, or too long and <paramref name="truncateLeft"/> is false.</exception>
    public IReadOnlyList<int[]> EncodeAll(IReadOnlyList<Problem> rows, string setName, int maxCompletionLength, int contextLength, bool truncateLeft)
    {
        ArgumentNullException.ThrowIfNull(rows);
        int room = contextLength - maxCompletionLength;
        if (room < 1)
            throw new ArgumentException(
                $"MaxCompletionLength {maxCompletionLength} leaves no room for a prompt in the model's context of {contextLength} tokens " +
                "(max_position_embeddings); lower MaxCompletionLength.", nameof(maxCompletionLength));
        var encoded = new int[rows.Count][];
        for (int i = 0; i < rows.Count; i++)
        {
            var ids = Encode(rows[i]);
            if (ids.Length == 0)
                throw new InvalidDataException($"Row {i + 1} of the {setName} encodes to no tokens; give every row a prompt.");
            if (ids.Length > room)
            {
                if (!truncateLeft)
                    throw new InvalidDataException(
                        $"Row {i + 1} of the {setName}: its prompt is {ids.Length} tokens, and with MaxCompletionLength {maxCompletionLength} " +
                        $"that exceeds the model's context of {contextLength} tokens (max_position_embeddings). Shorten the row, lower " +
                        "MaxCompletionLength, or set TruncatePromptsLeft to keep each prompt's last tokens.");
                ids = ids[^room..];
            }
            encoded[i] = ids;
        }
        return encoded;
    }
}
