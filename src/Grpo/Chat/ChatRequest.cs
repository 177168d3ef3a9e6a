using Grpo.Sampling;
using Grpo.Tokenization;
using Grpo.Tools;
using Microsoft.Extensions.AI;
using AIChatMessage = Microsoft.Extensions.AI.ChatMessage;

namespace Grpo.Chat;

/// <summary>
/// One chat request checked and translated for the decode loop: the prompt's token ids (the conversation, and the
/// offered tools, in the model's chat format), how to sample (<see cref="ChatOptions"/> over the client's defaults),
/// what ends the reply, and the parser for tool calls. Every bad option is refused here, before any work, with a
/// message that names the option and the fix.
/// </summary>
internal sealed record ChatRequest(int[] PromptIds, SamplingOptions Sampling, int MaxNewTokens, long Seed,
    IReadOnlyList<string> StopSequences, ToolCallParser? ToolCallParser, bool AllowMultipleToolCalls)
{
    /// <summary>Checks <paramref name="options"/> and formats the conversation; throws on anything this client cannot honour.</summary>
    public static ChatRequest Create(IEnumerable<AIChatMessage> messages, ChatOptions? options, IChatFormatter chatFormat,
        ITokenizer tokenizer, SamplingOptions defaults, int context)
    {
        ArgumentNullException.ThrowIfNull(messages);
        options ??= new ChatOptions();
        var sampling = SamplingFor(options, defaults);

        IReadOnlyList<string> stops = options.StopSequences is { } given ? [.. given] : defaults.StopStrings;
        if (stops.Any(string.IsNullOrEmpty))
            throw new ArgumentException("ChatOptions.StopSequences has an empty string; remove it (an empty stop sequence would end every reply at once).", nameof(options));
        if (options.FrequencyPenalty is { } frequency && frequency != 0 || options.PresencePenalty is { } presence && presence != 0)
            throw new NotSupportedException("GrpoChatClient does not apply frequency or presence penalties; leave ChatOptions.FrequencyPenalty and PresencePenalty unset.");
        if (options.ResponseFormat is ChatResponseFormatJson)
            throw new NotSupportedException("GrpoChatClient cannot constrain replies to JSON; leave ChatOptions.ResponseFormat unset (or ChatResponseFormat.Text) and ask for JSON in the prompt.");

        var tools = Tools(options, chatFormat);
        var turns = new List<Tokenization.ChatMessage>(Tokenization.ChatMessage.FromAI(messages));
        if (!string.IsNullOrEmpty(options.Instructions))
        {
            // Instructions join the conversation's system message, or become one: the templates read only the first.
            if (turns.Count > 0 && turns[0].Role == "system")
                turns[0] = turns[0] with { Content = options.Instructions + "\n\n" + turns[0].Content };
            else
                turns.Insert(0, new Tokenization.ChatMessage("system", options.Instructions));
        }
        if (turns.Count == 0)
            throw new ArgumentException("The conversation has no messages; give at least one user message.", nameof(messages));
        var prompt = tools.Count > 0
            ? ((IToolChatFormatter)chatFormat).Format(turns, tools, addGenerationPrompt: true)
            : chatFormat.Format(turns, addGenerationPrompt: true);
        var ids = tokenizer.Encode(prompt);

        int room = context - ids.Length;
        if (room <= 0)
            throw new ArgumentException($"The conversation is {ids.Length} tokens, which leaves no room in the model's context of {context} tokens; shorten it.", nameof(messages));
        int maxNew;
        if (options.MaxOutputTokens is { } asked)
        {
            if (asked <= 0)
                throw new ArgumentOutOfRangeException(nameof(options), asked, "ChatOptions.MaxOutputTokens must be positive.");
            if (asked > room)
                throw new ArgumentOutOfRangeException(nameof(options), asked,
                    $"ChatOptions.MaxOutputTokens {asked} does not fit: the conversation is {ids.Length} tokens of the model's context of {context}; ask for at most {room}.");
            maxNew = asked;
        }
        else
            maxNew = Math.Min(defaults.MaxNewTokens, room);

        return new ChatRequest(ids, sampling, maxNew, options.Seed ?? Random.Shared.NextInt64(), stops,
            tools.Count > 0 ? ((IToolChatFormatter)chatFormat).ToolCallParser : null, options.AllowMultipleToolCalls ?? true);
    }

    // Temperature 0 means greedy, as in OpenAI's API; the sampler expresses greedy as top-k 1.
    static SamplingOptions SamplingFor(ChatOptions options, SamplingOptions defaults)
    {
        var sampling = defaults;
        if (options.Temperature is { } temperature)
        {
            if (!(temperature >= 0) || float.IsInfinity(temperature))
                throw new ArgumentOutOfRangeException(nameof(options), temperature, "ChatOptions.Temperature must be 0 (greedy) or a positive number.");
            sampling = temperature == 0 ? sampling with { Temperature = 1, TopK = 1 } : sampling with { Temperature = temperature };
        }
        if (options.TopP is { } topP)
        {
            if (!(topP > 0 && topP <= 1))
                throw new ArgumentOutOfRangeException(nameof(options), topP, "ChatOptions.TopP must be in (0, 1]; 1 turns nucleus sampling off.");
            sampling = sampling with { TopP = topP };
        }
        if (options.TopK is { } topK)
        {
            if (topK <= 0)
                throw new ArgumentOutOfRangeException(nameof(options), topK, "ChatOptions.TopK must be positive (1 is greedy); leave it unset for no top-k.");
            if (options.Temperature != 0)   // greedy already keeps one token
                sampling = sampling with { TopK = topK };
        }
        return sampling;
    }

    // The function tools to offer, or none: ChatToolMode.None offers none, and a mode that requires a call is refused,
    // since nothing here can force the model to write one.
    static IReadOnlyList<AIFunctionDeclaration> Tools(ChatOptions options, IChatFormatter chatFormat)
    {
        if (options.Tools is not { Count: > 0 } || options.ToolMode is NoneChatToolMode)
            return [];
        if (options.ToolMode is RequiredChatToolMode)
            throw new NotSupportedException("GrpoChatClient cannot force the model to call a tool; use ChatToolMode.Auto (the default) or None.");
        var functions = new List<AIFunctionDeclaration>();
        foreach (var tool in options.Tools)
            functions.Add(tool as AIFunctionDeclaration
                ?? throw new NotSupportedException($"Tool '{tool.Name}' is a {tool.GetType().Name}; GrpoChatClient runs only function tools (AIFunctionFactory.Create or another AIFunctionDeclaration)."));
        if (chatFormat is not IToolChatFormatter)
            throw new NotSupportedException($"The chat format {chatFormat.GetType().Name} cannot describe tools to the model; use a ChatMlFormatter or Llama3Formatter (an IToolChatFormatter), or send no tools.");
        return functions;
    }
}
