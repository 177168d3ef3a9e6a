using Grpo.Data;

namespace Grpo.Sampling;

/// <summary>
/// What a GRPO step asks of a rollout engine: <see cref="GroupSize"/> completions of each prompt, drawn with the
/// engine's sampling settings (or greedily), from a generator seeded with <see cref="Seed"/>.
/// </summary>
/// <param name="Prompts">Token ids of each prompt, already chat-formatted.</param>
/// <param name="GroupSize">Completions per prompt (G).</param>
/// <param name="Seed">Seed of this request's random draws: the same request and seed give the same completions, so a
/// resumed run samples what the uninterrupted one did without saving any generator state.</param>
/// <param name="Greedy">Take the most likely token at every position (evaluation) instead of sampling.</param>
public sealed record RolloutRequest(IReadOnlyList<int[]> Prompts, int GroupSize, long Seed, bool Greedy = false)
{
    /// <summary>The dataset rows of <see cref="Prompts"/>, in order, for engines that give each rollout an environment reset from its row; null when not known.</summary>
    public IReadOnlyList<Problem>? Problems { get; init; }
}

/// <summary>
/// Where a GRPO step's completions come from: the in-process <see cref="GroupSampler"/> (<see cref="InProcessRollouts"/>)
/// or an inference server. Each completion carries the engine's own per-token log-probs of its tokens under the
/// temperature-scaled, unfiltered distribution (TRL's <c>sampling_per_token_logps</c>).
/// </summary>
public interface IRolloutSource
{
    /// <summary>
    /// True when the log-probs come from the trained model itself, in the trainer's precision (the in-process
    /// sampler): they then differ from the trainer's forward pass only by float rounding, and the sampler-mismatch
    /// correction is off unless asked for. False for another engine, where it is on by default.
    /// </summary>
    bool LogProbsMatchTrainer { get; }

    /// <summary>
    /// Generates the completions of <paramref name="request"/>: G consecutive completions per prompt, prompt by prompt,
    /// each with <see cref="Completion.PromptIndex"/> and <see cref="Completion.SampleIndex"/> set.
    /// </summary>
    Task<IReadOnlyList<Completion>> GenerateAsync(RolloutRequest request, CancellationToken cancellationToken = default);
}
