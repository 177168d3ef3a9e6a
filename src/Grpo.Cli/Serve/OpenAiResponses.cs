using System.Text;
using System.Text.Encodings.Web;
using System.Text.Json;
using System.Text.Json.Nodes;
using Grpo.Sampling;
using Grpo.Tokenization;

namespace Grpo.Cli.Serve;

/// <summary>
/// The response bodies, shaped as vLLM's (CompletionResponse, ChatCompletionResponse, ModelList in
/// vllm/entrypoints/openai), so that OpenAI clients and Grpo's server rollouts read them alike: choices indexed prompt by
/// prompt then sample (index = prompt · n + sample), <c>finish_reason</c> "stop" or "length" with vLLM's
/// <c>stop_reason</c> (the stop string or <c>stop_token_ids</c> id that ended a choice; null for the model's own
/// end-of-sequence token), and usage counting each prompt once.
/// </summary>
/// <remarks>
/// Log-probs are those the sampler drew with: each token's log-probability under the temperature-scaled distribution
/// over the whole vocabulary, before top-k / top-p / min-p filtering, which is what Grpo's trainer recomputes for the
/// policy ratio (<see cref="Grpo.Training.TokenLogProbs"/>). vLLM matches them only when started with
/// <c>--logprobs-mode processed_logprobs</c> and its filters off. Greedy requests (temperature 0) report them at temperature 1.
/// </remarks>
static class OpenAiResponses
{
    /// <summary>How bodies are written: text as it is (backticks, '&lt;|im_end|&gt;'), escaping only what JSON requires.</summary>
    public static readonly JsonSerializerOptions Json = new() { Encoder = JavaScriptEncoder.UnsafeRelaxedJsonEscaping };

    /// <summary>The body of a <c>/v1/completions</c> response.</summary>
    public static JsonObject Completion(GenerationRequest request, IReadOnlyList<Completion> completions, ServedModels models, IReadOnlyList<int> eosTokenIds)
    {
        var choices = new JsonArray();
        for (int i = 0; i < completions.Count; i++)
        {
            var c = completions[i];
            var (text, reason, stopReason) = Finish(c, request, eosTokenIds, models.Tokenizer);
            choices.Add(new JsonObject
            {
                ["index"] = i,
                ["text"] = text,
                ["logprobs"] = request.Logprobs ? CompletionLogprobs(c, models.Tokenizer) : null,
                ["finish_reason"] = reason,
                ["stop_reason"] = stopReason,
                ["token_ids"] = request.ReturnTokenIds ? Ids(c.TokenIds) : null,
                ["prompt_logprobs"] = null,
                ["prompt_token_ids"] = request.ReturnTokenIds ? Ids(request.Prompts[i / request.N]) : null,
            });
        }
        return Envelope("cmpl-", "text_completion", request, completions, choices);
    }

    /// <summary>The body of a <c>/v1/chat/completions</c> response.</summary>
    public static JsonObject Chat(GenerationRequest request, IReadOnlyList<Completion> completions, ServedModels models, IReadOnlyList<int> eosTokenIds)
    {
        var choices = new JsonArray();
        for (int i = 0; i < completions.Count; i++)
        {
            var c = completions[i];
            var (text, reason, stopReason) = Finish(c, request, eosTokenIds, models.Tokenizer);
            choices.Add(new JsonObject
            {
                ["index"] = i,
                ["message"] = new JsonObject { ["role"] = "assistant", ["content"] = text },
                ["logprobs"] = request.Logprobs ? ChatLogprobs(c, models.Tokenizer) : null,
                ["finish_reason"] = reason,
                ["stop_reason"] = stopReason,
                ["token_ids"] = request.ReturnTokenIds ? Ids(c.TokenIds) : null,
            });
        }
        var body = Envelope("chatcmpl-", "chat.completion", request, completions, choices);
        body["prompt_logprobs"] = null;
        body["prompt_token_ids"] = request.ReturnTokenIds ? Ids(request.Prompts[0]) : null;
        return body;
    }

    /// <summary>The body of <c>/v1/models</c>: the base model (with its context length) and each loaded adapter.</summary>
    public static JsonObject Models(ServedModels models, long created)
    {
        var data = new JsonArray();
        foreach (var (id, root, parent) in models.List())
            data.Add(new JsonObject
            {
                ["id"] = id,
                ["object"] = "model",
                ["created"] = created,
                ["owned_by"] = "grpo",
                ["root"] = root,
                ["parent"] = parent,
                ["max_model_len"] = parent is null ? models.Context : null,
                ["permission"] = new JsonArray(),
            });
        return new JsonObject { ["object"] = "list", ["data"] = data };
    }

    static JsonObject Envelope(string idPrefix, string kind, GenerationRequest request, IReadOnlyList<Completion> completions, JsonArray choices)
    {
        int promptTokens = request.Prompts.Sum(p => p.Length), completionTokens = completions.Sum(c => c.TokenIds.Length);
        return new JsonObject
        {
            ["id"] = idPrefix + Guid.NewGuid().ToString("N"),
            ["object"] = kind,
            ["created"] = DateTimeOffset.UtcNow.ToUnixTimeSeconds(),
            ["model"] = request.Model,
            ["choices"] = choices,
            ["usage"] = new JsonObject
            {
                ["prompt_tokens"] = promptTokens,
                ["total_tokens"] = promptTokens + completionTokens,
                ["completion_tokens"] = completionTokens,
                ["prompt_tokens_details"] = null,
            },
        };
    }

    /// <summary>
    /// The choice's text, finish reason and stop reason. A stop string ends the text before it, and a requested stop
    /// token's text is dropped (vLLM's default), unless the request asked to include them; the token ids keep every
    /// token sampled.
    /// </summary>
    static (string Text, string Reason, JsonNode? StopReason) Finish(Completion c, GenerationRequest request, IReadOnlyList<int> eosTokenIds, ITokenizer tokenizer)
    {
        switch (c.FinishReason)
        {
            case FinishReason.Length:
                return (c.Text, "length", null);
            case FinishReason.StopString:
                var hit = request.Settings.Stop
                    .Select(s => (Stop: s, At: c.Text.IndexOf(s, StringComparison.Ordinal)))
                    .Where(h => h.At >= 0).OrderBy(h => h.At).FirstOrDefault();
                if (hit.Stop is null) return (c.Text, "stop", null);
                var text = c.Text[..(hit.At + (request.IncludeStopStringInOutput ? hit.Stop.Length : 0))];
                return (text, "stop", hit.Stop);
            default:
                int last = c.TokenIds[^1];
                if (!request.Settings.StopTokenIds.Contains(last) || eosTokenIds.Contains(last)) return (c.Text, "stop", null);
                // A requested stop token's text is left out, as vLLM leaves it out, unless the request asked to include it.
                var kept = request.IncludeStopStringInOutput ? c.Text : tokenizer.Decode(c.TokenIds[..^1], skipSpecialTokens: true);
                return (kept, "stop", last);
        }
    }

    static JsonObject CompletionLogprobs(Completion c, ITokenizer tokenizer)
    {
        var tokens = new JsonArray();
        var logprobs = new JsonArray();
        var top = new JsonArray();
        var offsets = new JsonArray();
        int offset = 0;
        for (int t = 0; t < c.TokenIds.Length; t++)
        {
            var token = tokenizer.Decode([c.TokenIds[t]], skipSpecialTokens: false);
            float logprob = Clamp(c.LogProbs[t]);
            tokens.Add(token);
            logprobs.Add(logprob);
            // logprobs 0: the sampled token alone (vLLM's top_logprobs holds the top 0 plus the sampled one).
            top.Add(new JsonObject { [token] = logprob });
            offsets.Add(offset);
            offset += token.Length;
        }
        return new JsonObject { ["text_offset"] = offsets, ["token_logprobs"] = logprobs, ["tokens"] = tokens, ["top_logprobs"] = top };
    }

    static JsonObject ChatLogprobs(Completion c, ITokenizer tokenizer)
    {
        var content = new JsonArray();
        for (int t = 0; t < c.TokenIds.Length; t++)
        {
            var token = tokenizer.Decode([c.TokenIds[t]], skipSpecialTokens: false);
            content.Add(new JsonObject
            {
                ["token"] = token,
                ["logprob"] = Clamp(c.LogProbs[t]),
                ["bytes"] = Ids(Encoding.UTF8.GetBytes(token).Select(b => (int)b).ToArray()),
                ["top_logprobs"] = new JsonArray(),
            });
        }
        return new JsonObject { ["content"] = content };
    }

    /// <summary>vLLM's floor: -inf is not JSON, so a log-prob is reported as at least -9999.</summary>
    static float Clamp(float logprob) => Math.Max(logprob, -9999f);

    static JsonArray Ids(IEnumerable<int> ids) => new([.. ids.Select(id => (JsonNode)id)]);
}
