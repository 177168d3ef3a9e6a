namespace Grpo.Rewards;

/// <summary>
/// Base class for a reward that scores each completion on its own, synchronously and cheaply (format checks,
/// answer matching). Inputs are scored in parallel across cores.
/// </summary>
public abstract class RewardFunction : IRewardFunction
{
    /// <inheritdoc/>
    public abstract string Name { get; }

    /// <inheritdoc/>
    public virtual IReadOnlyList<string> DependsOn => [];

    /// <summary>Scores one completion; NaN for "not applicable".</summary>
    public abstract double Score(RewardInput input);

    /// <inheritdoc/>
    public Task<double[]> ScoreAsync(IReadOnlyList<RewardInput> inputs, CancellationToken cancellationToken)
    {
        var scores = new double[inputs.Count];
        Parallel.For(0, inputs.Count, new ParallelOptions { CancellationToken = cancellationToken },
            i => scores[i] = Score(inputs[i]));
        return Task.FromResult(scores);
    }
}
