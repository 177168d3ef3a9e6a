using System.Text.Json;
using System.Text.Json.Nodes;
using Grpo.Tokenization;

namespace Grpo.Sampling.Server;

/// <summary>
/// The body of <c>POST /v1/completions</c> that asks for one prompt's group, and the reading of its answer into
/// <see cref="Completion"/> records, with the field names of vLLM's <c>CompletionRequest</c> /
/// <c>CompletionResponseChoice</c> (vllm/entrypoints/openai/completion/protocol.py), which <c>grpo serve</c> follows.
/// </summary>
internal static class CompletionsProtocol
{
    /// <summary>
    /// A request for <paramref name="n"/> completions of <paramref name="prompt"/> (token ids). Every sampling field is
    /// sent, because <c>vllm serve</c> otherwise applies the checkpoint's generation_config (Qwen2.5-Instruct: top_k 20,
    /// top_p 0.8, repetition_penalty 1.05) and the completions would not come from the distribution the trainer assumes.
    /// </summary>
    public static JsonObject Request(string model, int[] prompt, int n, SamplingOptions sampling, IReadOnlyList<int> eosTokenIds, long seed, bool greedy) => new()
    {
        ["model"] = model,
        ["prompt"] = new JsonArray([.. prompt.Select(id => (JsonNode)id)]),
        ["n"] = n,
        ["max_tokens"] = sampling.MaxNewTokens,
        // Greedy: vLLM takes temperature 0 as argmax; the filters are then moot, so they are sent off.
        ["temperature"] = greedy ? 0.0 : sampling.Temperature,
        ["top_p"] = greedy ? 1.0 : sampling.TopP,
        ["top_k"] = greedy || sampling.TopK == 0 ? -1 : sampling.TopK,
        ["min_p"] = greedy ? 0.0 : sampling.MinP,
        ["repetition_penalty"] = 1.0,
        ["presence_penalty"] = 0.0,
        ["frequency_penalty"] = 0.0,
        ["seed"] = seed,
        // 0: no alternatives, only the sampled token's log-prob (TRL's vLLM client asks the same).
        ["logprobs"] = 0,
        ["return_token_ids"] = true,
        ["stop_token_ids"] = new JsonArray([.. eosTokenIds.Select(id => (JsonNode)id)]),
        ["stop"] = new JsonArray([.. sampling.StopStrings.Select(s => (JsonNode)s)]),
        // The in-process sampler keeps the stop string in the completion; so does this.
        ["include_stop_str_in_output"] = true,
        ["skip_special_tokens"] = true,
        ["add_special_tokens"] = false,
        ["ignore_eos"] = false,
        ["stream"] = false,
    };

    /// <summary>
    /// The answer's choices as the completions of prompt <paramref name="promptIndex"/>, in choice index order:
    /// <c>token_ids</c>, <c>logprobs.token_logprobs</c> and <c>finish_reason</c> ("stop" with a string
    /// <c>stop_reason</c>: a stop string; "stop" otherwise: an end-of-sequence or stop token; "length": truncated).
    /// Text is decoded here with <paramref name="tokenizer"/>, as the in-process sampler does, so rewards see the same text.
    /// </summary>
    /// <exception cref="InvalidDataException">The answer lacks a field or does not fit the request.</exception>
    public static Completion[] ReadChoices(string body, int promptIndex, int n, ITokenizer tokenizer, Uri server)
    {
        string Bad(string what) =>
            $"Rollout server {server} answered /v1/completions without {what}. Use vLLM 0.10.2 or newer (token_ids come with return_token_ids) or grpo serve.";
        try
        {
            using var json = JsonDocument.Parse(body);
            if (!json.RootElement.TryGetProperty("choices", out var choices) || choices.ValueKind != JsonValueKind.Array)
                throw new InvalidDataException(Bad("a choices list"));
            if (choices.GetArrayLength() != n)
                throw new InvalidDataException($"Rollout server {server} returned {choices.GetArrayLength()} completions of prompt {promptIndex}, not the {n} asked for (n).");
            var read = new Completion?[n];
            int position = 0;
            foreach (var choice in choices.EnumerateArray())
            {
                int index = choice.TryGetProperty("index", out var i) && i.ValueKind == JsonValueKind.Number ? i.GetInt32() : position;
                position++;
                if (index < 0 || index >= n || read[index] is not null)
                    throw new InvalidDataException($"Rollout server {server} returned choice index {index} twice or out of 0..{n - 1}.");
                if (!choice.TryGetProperty("token_ids", out var idsJson) || idsJson.ValueKind != JsonValueKind.Array)
                    throw new InvalidDataException(Bad("each choice's token_ids"));
                var ids = idsJson.EnumerateArray().Select(e => e.GetInt32()).ToArray();
                if (!choice.TryGetProperty("logprobs", out var logprobs) || logprobs.ValueKind != JsonValueKind.Object
                    || !logprobs.TryGetProperty("token_logprobs", out var tokenLogprobs) || tokenLogprobs.ValueKind != JsonValueKind.Array)
                    throw new InvalidDataException(Bad("each choice's logprobs.token_logprobs (the request asks logprobs: 0)"));
                var values = tokenLogprobs.EnumerateArray()
                    .Select(e => e.ValueKind == JsonValueKind.Number ? (float)e.GetDouble() : throw new InvalidDataException(Bad("a number for every token's log-prob")))
                    .ToArray();
                if (values.Length != ids.Length)
                    throw new InvalidDataException($"Rollout server {server} returned {ids.Length} token ids but {values.Length} log-probs in one completion; they must pair up.");
                read[index] = new Completion(promptIndex, index, ids, tokenizer.Decode(ids), values, Finish(choice, server));
            }
            return [.. read.Select(c => c!)];
        }
        catch (Exception e) when (e is JsonException or FormatException or InvalidOperationException)
        {
            throw new InvalidDataException($"Rollout server {server} answered /v1/completions with a body that is not a completions response ({e.Message.Split('\n')[0]}).", e);
        }
    }

    private static FinishReason Finish(JsonElement choice, Uri server)
    {
        var reason = choice.TryGetProperty("finish_reason", out var r) && r.ValueKind == JsonValueKind.String ? r.GetString() : null;
        return reason switch
        {
            "length" => FinishReason.Length,
            "stop" => choice.TryGetProperty("stop_reason", out var s) && s.ValueKind == JsonValueKind.String ? FinishReason.StopString : FinishReason.Eos,
            _ => throw new InvalidDataException($"Rollout server {server} ended a completion with finish_reason '{reason}'; only 'stop' and 'length' are complete completions (was the request aborted?)."),
        };
    }
}
