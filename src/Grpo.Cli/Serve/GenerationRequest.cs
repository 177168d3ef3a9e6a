using System.Text.Json;
using Grpo.Tokenization;

namespace Grpo.Cli.Serve;

/// <summary>
/// A <c>/v1/completions</c> or <c>/v1/chat/completions</c> request, read and checked against the served model: the
/// prompts as token ids, <c>n</c> completions of each, the seed and the decode settings, and what the response is to
/// carry. Field names, defaults and meanings are vLLM's (vllm/entrypoints/openai/completion/protocol.py and
/// chat_completion/protocol.py); what this server cannot honour is refused with a 400 rather than ignored.
/// </summary>
sealed record GenerationRequest
{
    /// <summary>The served model or adapter name the request decodes with.</summary>
    public required string Model { get; init; }
    public required IReadOnlyList<int[]> Prompts { get; init; }
    public required int N { get; init; }
    /// <summary>The request's seed; null draws one, so repeated seedless requests differ.</summary>
    public required long? Seed { get; init; }
    public required DecodeSettings Settings { get; init; }
    /// <summary>Whether each choice carries its tokens' log-probs (completions: <c>logprobs: 0</c>; chat: <c>logprobs: true</c>).</summary>
    public required bool Logprobs { get; init; }
    /// <summary>vLLM's <c>return_token_ids</c>: the prompt's and each choice's token ids in the response.</summary>
    public required bool ReturnTokenIds { get; init; }
    /// <summary>vLLM's <c>include_stop_str_in_output</c>: keep the stop string that ended a choice in its text.</summary>
    public required bool IncludeStopStringInOutput { get; init; }

    /// <summary>Reads a <c>/v1/completions</c> body: <c>prompt</c> as text, token ids, or a list of either.</summary>
    public static GenerationRequest ReadCompletion(RequestFields fields, ServedModels models)
    {
        var model = ServedModel(fields, models);
        if (fields.Bool("echo") == true)
            throw OpenAiError.BadRequest("`echo` is not supported; leave it false (return_token_ids gives the prompt's token ids).", "echo");
        var prompts = ReadPrompts(fields, models);
        var logprobs = fields.Int("logprobs", 0, 0,
            "only 0 is supported: each token's log-prob (temperature-scaled, before top-k/top-p/min-p), without alternatives");
        return Common(fields, models, model, prompts, fields.Int("max_tokens", 1) ?? 16, logprobs is not null);
    }

    /// <summary>Reads a <c>/v1/chat/completions</c> body: <c>messages</c> go through the model folder's chat template.</summary>
    public static GenerationRequest ReadChat(RequestFields fields, ServedModels models)
    {
        var model = ServedModel(fields, models);
        var format = models.Base.ChatFormat
            ?? throw OpenAiError.BadRequest($"The model folder '{models.Base.Path}' has no chat template; use /v1/completions with the prompt text.", "messages");
        if (fields.Bool("continue_final_message") == true)
            throw OpenAiError.BadRequest("`continue_final_message` is not supported; end the messages with a user turn.", "continue_final_message");
        var text = format.Format(Messages(fields), fields.Bool("add_generation_prompt") ?? true);
        int[] prompt = models.Tokenizer.Encode(text);
        if (prompt.Length == 0) throw OpenAiError.BadRequest("The messages format to an empty prompt.", "messages");
        fields.Int("top_logprobs", 0, 0, "only 0 is supported: the sampled token's log-prob, without alternatives");
        int? maxTokens = fields.Int("max_completion_tokens", 1) ?? fields.Int("max_tokens", 1);
        return Common(fields, models, model, [prompt], maxTokens ?? Math.Max(1, models.Context - prompt.Length), fields.Bool("logprobs") ?? false);
    }

    static string ServedModel(RequestFields fields, ServedModels models)
    {
        var model = fields.String("model") ?? models.BaseName;
        models.EnsureServed(model);
        return model;
    }

    static GenerationRequest Common(RequestFields fields, ServedModels models, string model, IReadOnlyList<int[]> prompts, int maxTokens, bool logprobs)
    {
        RefuseUnsupported(fields);
        int n = fields.Int("n", 1, rule: "it must be at least 1") ?? 1;
        if ((long)prompts.Count * n > int.MaxValue)
            throw OpenAiError.BadRequest($"{prompts.Count:N0} prompts × n {n:N0} is more completions than one request can hold; send fewer prompts or a smaller n.", "n");
        double temperature = fields.Double("temperature") ?? 1.0;
        if (!(temperature >= 0) || double.IsInfinity(temperature))
            throw OpenAiError.BadRequest($"`temperature` is {temperature}; it must be 0 (greedy) or above.", "temperature");
        double topP = fields.Double("top_p") ?? 1.0;
        if (!(topP > 0 && topP <= 1)) throw OpenAiError.BadRequest($"`top_p` is {topP}; it must lie in (0, 1].", "top_p");
        int topK = fields.Int("top_k", -1, rule: "it must be -1 or 0 (off) or positive") ?? -1;
        double minP = fields.Double("min_p") ?? 0;
        if (!(minP >= 0 && minP < 1)) throw OpenAiError.BadRequest($"`min_p` is {minP}; it must lie in [0, 1).", "min_p");
        var stop = fields.Strings("stop");
        if (stop.Any(string.IsNullOrEmpty)) throw OpenAiError.BadRequest("`stop` must not contain empty strings.", "stop");
        var stopTokenIds = fields.Ints("stop_token_ids");
        if (stopTokenIds.FirstOrDefault(id => id < 0 || id >= models.VocabSize, -1) is var bad and >= 0)
            throw OpenAiError.BadRequest($"`stop_token_ids` has {bad}, outside the model's vocabulary of {models.VocabSize}.", "stop_token_ids");

        int longest = prompts.Max(p => p.Length);
        if (longest + maxTokens > models.Context)
            throw OpenAiError.BadRequest(
                $"This model's maximum context length is {models.Context} tokens. However, you requested {longest + maxTokens} tokens " +
                $"({longest} in the prompt, {maxTokens} in the completion). Please reduce the length of the prompt or max_tokens.", "max_tokens");

        return new GenerationRequest
        {
            Model = model,
            Prompts = prompts,
            N = n,
            Seed = fields.Long("seed"),
            Settings = new DecodeSettings
            {
                // Greedy is top-k 1; the temperature then no longer matters, and 1 keeps the log-probs unscaled.
                Temperature = temperature == 0 ? 1.0 : temperature,
                TopK = temperature == 0 ? 1 : Math.Max(topK, 0),
                TopP = topP,
                MinP = minP,
                MaxTokens = maxTokens,
                Stop = stop,
                StopTokenIds = stopTokenIds,
            },
            Logprobs = logprobs,
            ReturnTokenIds = fields.Bool("return_token_ids") ?? false,
            IncludeStopStringInOutput = fields.Bool("include_stop_str_in_output") ?? false,
        };
    }

    /// <summary>vLLM options that would change the output and that this sampler does not implement: refused unless neutral.</summary>
    static void RefuseUnsupported(RequestFields fields)
    {
        if (fields.Bool("stream") == true) throw OpenAiError.BadRequest("`stream` is not supported; send stream: false and read the whole response.", "stream");
        if (fields.Double("repetition_penalty") is { } r && r != 1) throw OpenAiError.BadRequest("`repetition_penalty` is not supported; leave it out or send 1.", "repetition_penalty");
        foreach (var name in new[] { "presence_penalty", "frequency_penalty" })
            if (fields.Double(name) is { } p && p != 0) throw OpenAiError.BadRequest($"`{name}` is not supported; leave it out or send 0.", name);
        if ((fields.Long("min_tokens") ?? 0) != 0) throw OpenAiError.BadRequest("`min_tokens` is not supported; leave it out or send 0.", "min_tokens");
        foreach (var name in new[] { "ignore_eos", "use_beam_search" })
            if (fields.Bool(name) == true) throw OpenAiError.BadRequest($"`{name}` is not supported; leave it out or send false.", name);
        if (fields.Get("logit_bias") is not null) throw OpenAiError.BadRequest("`logit_bias` is not supported; leave it out.", "logit_bias");
    }

    /// <summary>
    /// The <c>prompt</c> field as token ids: a string, a list of strings, a list of ids, or a list of lists of ids,
    /// vLLM's four forms. Text is encoded as it is, special tokens written in it included (no BOS is added).
    /// </summary>
    static IReadOnlyList<int[]> ReadPrompts(RequestFields fields, ServedModels models)
    {
        const string shape = "`prompt` must be a string, a list of strings, a list of token ids, or a list of lists of token ids.";
        var value = fields.Get("prompt") ?? throw OpenAiError.BadRequest("`prompt` is missing; give the prompt text or its token ids.", "prompt");
        List<int[]> prompts;
        if (value.ValueKind == JsonValueKind.String)
            prompts = [models.Tokenizer.Encode(value.GetString()!)];
        else if (value.ValueKind != JsonValueKind.Array || value.GetArrayLength() == 0)
            throw OpenAiError.BadRequest(shape, "prompt");
        else if (value.EnumerateArray().All(e => e.ValueKind == JsonValueKind.Number))
            prompts = [TokenIds(value, shape)];
        else if (value.EnumerateArray().All(e => e.ValueKind == JsonValueKind.String))
            prompts = value.EnumerateArray().Select(e => models.Tokenizer.Encode(e.GetString()!)).ToList();
        else if (value.EnumerateArray().All(e => e.ValueKind == JsonValueKind.Array))
            prompts = value.EnumerateArray().Select(e => TokenIds(e, shape)).ToList();
        else
            throw OpenAiError.BadRequest(shape, "prompt");

        for (int i = 0; i < prompts.Count; i++)
        {
            if (prompts[i].Length == 0) throw OpenAiError.BadRequest($"Prompt {i} is empty; a prompt needs at least one token.", "prompt");
            if (prompts[i].FirstOrDefault(id => id >= models.VocabSize, -1) is var bad and >= 0)
                throw OpenAiError.BadRequest($"Prompt {i} has token id {bad}, outside the model's vocabulary of {models.VocabSize}.", "prompt");
        }
        return prompts;
    }

    static int[] TokenIds(JsonElement array, string shape) =>
        array.EnumerateArray().All(e => e.ValueKind == JsonValueKind.Number && e.TryGetInt32(out var id) && id >= 0)
            ? array.EnumerateArray().Select(e => e.GetInt32()).ToArray()
            : throw OpenAiError.BadRequest(shape + " Token ids are whole numbers from 0.", "prompt");

    /// <summary><c>messages</c>: role and content, the content a string or a list of <c>{"type": "text", "text"}</c> parts (joined by newlines, as vLLM joins them).</summary>
    static List<ChatMessage> Messages(RequestFields fields)
    {
        const string shape = "`messages` must be a non-empty list of {\"role\": ..., \"content\": ...} objects, content a string or a list of text parts.";
        var value = fields.Get("messages") ?? throw OpenAiError.BadRequest("`messages` is missing.", "messages");
        if (value.ValueKind != JsonValueKind.Array || value.GetArrayLength() == 0) throw OpenAiError.BadRequest(shape, "messages");
        var messages = new List<ChatMessage>();
        foreach (var message in value.EnumerateArray())
        {
            if (message.ValueKind != JsonValueKind.Object
                || !message.TryGetProperty("role", out var role) || role.ValueKind != JsonValueKind.String
                || !message.TryGetProperty("content", out var content))
                throw OpenAiError.BadRequest(shape, "messages");
            messages.Add(new ChatMessage(role.GetString()!, content.ValueKind switch
            {
                JsonValueKind.String => content.GetString()!,
                JsonValueKind.Array when content.EnumerateArray().All(IsTextPart) =>
                    string.Join("\n", content.EnumerateArray().Select(p => p.GetProperty("text").GetString())),
                _ => throw OpenAiError.BadRequest(shape + " Only text content is supported.", "messages"),
            }));
        }
        return messages;
    }

    static bool IsTextPart(JsonElement part) =>
        part.ValueKind == JsonValueKind.Object
        && part.TryGetProperty("type", out var type) && type.ValueKind == JsonValueKind.String && type.GetString() == "text"
        && part.TryGetProperty("text", out var text) && text.ValueKind == JsonValueKind.String;
}
