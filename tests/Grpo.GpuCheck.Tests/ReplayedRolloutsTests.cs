using Grpo.Sampling;

namespace Grpo.GpuCheck.Tests;

/// <summary>The parity check's rollout source: the prepared batch, unchanged, and a clear refusal of any other shape.</summary>
public class ReplayedRolloutsTests
{
    private static readonly Completion[] Batch =
    [
        new(0, 0, [4, 5], "4 5", [-1.5f, -2f], FinishReason.Length),
        new(0, 1, [6, 8], "6 8", [-0.5f, -3f], FinishReason.Length),
    ];

    [Fact]
    public async Task ItReturnsThePreparedCompletionsAndClaimsToBeAnotherEngine()
    {
        var source = new ReplayedRollouts(Batch);

        var completions = await source.GenerateAsync(new RolloutRequest([[1, 2, 3]], GroupSize: 2, Seed: 99));

        Assert.Equal(Batch, completions);
        Assert.False(source.LogProbsMatchTrainer);   // so GrpoStep runs its old-policy pass and the sampler correction
    }

    [Fact]
    public async Task ARequestOfAnotherSizeIsRefused()
    {
        var source = new ReplayedRollouts(Batch);

        var error = await Assert.ThrowsAsync<ArgumentException>(() => source.GenerateAsync(new RolloutRequest([[1], [2]], GroupSize: 2, Seed: 1)));
        Assert.StartsWith("The replayed batch holds 2 completions, but the step asked for 2 prompts x 2", error.Message);
    }
}
