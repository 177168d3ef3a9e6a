using Grpo.Rewards;

namespace Grpo.GpuCheck;

/// <summary>
/// A cheap verifiable-style reward scored on the host: the share of even token ids in the completion. A model with
/// random weights gives the completions of a group different shares, so groups have spread and advantages are not
/// all zero. The PyTorch peer (benchmarks/gpu/peer_step.py) scores its completions the same way.
/// </summary>
internal sealed class EvenTokenShare : RewardFunction
{
    /// <inheritdoc/>
    public override string Name => "even_token_share";

    /// <inheritdoc/>
    public override double Score(RewardInput input) =>
        input.CompletionIds.Count == 0 ? 0 : input.CompletionIds.Count(id => id % 2 == 0) / (double)input.CompletionIds.Count;
}
