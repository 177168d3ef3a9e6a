using Grpo.Sampling;

namespace Grpo.Cli.Serve;

/// <summary>
/// How one request's completions are drawn: everything but its prompts, its <c>n</c> and its seed. Each request in a
/// batch keeps its own (<see cref="ServeScheduler"/> samples each request's rows with its own options).
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

    /// <summary>The sampler's options for a request's rows; the seed is the request's own generator's, so none is set here.</summary>
    public SamplingOptions ToSamplingOptions(IReadOnlyList<int> modelEosTokenIds) => new()
    {
        Temperature = Temperature,
        TopP = TopP,
        TopK = TopK,
        MinP = MinP,
        MaxNewTokens = MaxTokens,
        EosTokenIds = modelEosTokenIds.Union(StopTokenIds).ToList(),
        StopStrings = Stop,
    };
}
