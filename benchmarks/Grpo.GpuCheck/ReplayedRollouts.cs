using Grpo.Sampling;

namespace Grpo.GpuCheck;

/// <summary>
/// A rollout source that returns completions prepared once, whatever it is asked: so the step trains on the same
/// batch (token ids, sampler log-probs, finish reasons) on every device and in every precision, and the devices'
/// losses can be compared. It stands in for another engine (<see cref="LogProbsMatchTrainer"/> false), so the step
/// also runs its old-policy pass and TRL's sampler importance-sampling correction against the prepared log-probs.
/// </summary>
internal sealed class ReplayedRollouts(IReadOnlyList<Completion> completions) : IRolloutSource
{
    /// <inheritdoc/>
    public bool LogProbsMatchTrainer => false;

    /// <inheritdoc/>
    public Task<IReadOnlyList<Completion>> GenerateAsync(RolloutRequest request, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(request);
        if (request.Prompts.Count * request.GroupSize != completions.Count)
            throw new ArgumentException(
                $"The replayed batch holds {completions.Count} completions, but the step asked for {request.Prompts.Count} prompts x {request.GroupSize}; " +
                "ask for the prompts and group size the batch was prepared with.", nameof(request));
        return Task.FromResult(completions);
    }
}
