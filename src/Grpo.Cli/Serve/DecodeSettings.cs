using Grpo.Sampling;

namespace Grpo.Cli.Serve;

/// <summary>
/// How one request's completions are drawn: everything but its prompts, its <c>n</c> and its seed. Requests for the
/// same model whose settings are equal (<see cref="BatchesWith"/>) decode in one batch, since the sampler applies one
/// temperature, one set of filters and one token limit to the whole batch.
/// </summary>
sealed record DecodeSettings
{
    /// <summary>Positive; a request's temperature 0 (greedy) arrives as 1 with <see cref="TopK"/> 1.</summary>
    public required double Temperature { get; init; }
    public required double TopP { get; init; }
    /// <summary>0 = off (vLLM's -1).</summary>
    public required int TopK { get; init; }
    public required double MinP { get; init; }
    public required int MaxTokens { get; init; }
    /// <summary>Texts that end a completion (vLLM's <c>stop</c>).</summary>
    public required IReadOnlyList<string> Stop { get; init; }
    /// <summary>Ids that end a completion besides the model's own end-of-sequence ids (vLLM's <c>stop_token_ids</c>).</summary>
    public required IReadOnlyList<int> StopTokenIds { get; init; }

    /// <summary>Whether a request with <paramref name="other"/> can decode in the same batch as one with these.</summary>
    public bool BatchesWith(DecodeSettings other) =>
        Temperature == other.Temperature && TopP == other.TopP && TopK == other.TopK && MinP == other.MinP && MaxTokens == other.MaxTokens
        && Stop.SequenceEqual(other.Stop) && StopTokenIds.SequenceEqual(other.StopTokenIds);

    /// <summary>The sampler's options for a batch of <paramref name="promptCount"/> prompts decoded at once.</summary>
    public SamplingOptions ToSamplingOptions(IReadOnlyList<int> modelEosTokenIds, long seed, int promptCount) => new()
    {
        Temperature = Temperature,
        TopP = TopP,
        TopK = TopK,
        MinP = MinP,
        MaxNewTokens = MaxTokens,
        EosTokenIds = modelEosTokenIds.Union(StopTokenIds).ToList(),
        StopStrings = Stop,
        Seed = seed,
        PromptsPerBatch = promptCount,
    };
}
