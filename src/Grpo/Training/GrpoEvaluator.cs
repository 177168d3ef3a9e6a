using Grpo.Data;
using Grpo.Rewards;
using Grpo.Sampling;

namespace Grpo.Training;

/// <summary>One evaluation row's greedy answer and its first reward's score.</summary>
/// <param name="Problem">The row.</param>
/// <param name="Completion">The greedy completion.</param>
/// <param name="Score">The first reward function's score of it (NaN when not applicable).</param>
public sealed record EvaluatedRow(Problem Problem, Completion Completion, double Score)
{
    /// <summary>True when the first reward scores the answer 1: right, for a verifier such as the maths reward.</summary>
    public bool Correct => Score == 1.0;
}

/// <summary>What one evaluation measured.</summary>
public sealed record EvaluationResult
{
    /// <summary>
    /// The metrics under TRL's eval names: <c>eval_accuracy</c> (greedy), and with sampled completions <c>eval_reward</c>,
    /// <c>eval_reward_std</c>, <c>eval_rewards/NAME/mean|std</c>, <c>eval_pass@k</c>, <c>eval_completions/mean_length</c>.
    /// </summary>
    public required IReadOnlyDictionary<string, double> Metrics { get; init; }

    /// <summary>The share of rows whose greedy answer the first reward scores 1 (<c>eval_accuracy</c>).</summary>
    public double Accuracy => Metrics["eval_accuracy"];

    /// <summary>Every row's greedy answer, in the rows' order.</summary>
    public required IReadOnlyList<EvaluatedRow> Greedy { get; init; }
}

/// <summary>
/// Measures the policy on held-out rows, as training goes: one greedy completion per row, scored by the reward
/// functions (<c>eval_accuracy</c>: the share whose first reward scores 1, e.g. the maths reward's "right"), and
/// <see cref="GrpoOptions.NumGenerationsEval"/> sampled completions per row (<c>eval_reward</c> and the per-function
/// means as TRL logs them, and <c>eval_pass@k</c>: the share of rows with at least one of the k samples scored 1,
/// Chen et al.'s unbiased estimator with n = k).
/// </summary>
public sealed class GrpoEvaluator
{
    private readonly IRolloutSource _rollouts;
    private readonly RewardRunner _rewards;
    private readonly double[] _weights;
    private readonly int _samples;

    /// <summary>Evaluates completions from <paramref name="rollouts"/> with <paramref name="rewards"/>, weighted as <paramref name="options"/> says.</summary>
    public GrpoEvaluator(IRolloutSource rollouts, RewardRunner rewards, GrpoOptions options)
    {
        ArgumentNullException.ThrowIfNull(rollouts);
        ArgumentNullException.ThrowIfNull(rewards);
        ArgumentNullException.ThrowIfNull(options);
        (_rollouts, _rewards) = (rollouts, rewards);
        _weights = options.ResolveRewardWeights(rewards.Names.Count);
        _samples = options.NumGenerationsEval ?? options.NumGenerations;
    }

    /// <summary>Evaluates the policy as it is now on <paramref name="rows"/> (prompts encoded as <paramref name="promptIds"/>).</summary>
    public EvaluationResult Evaluate(IReadOnlyList<Problem> rows, IReadOnlyList<int[]> promptIds, long seed, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(rows);
        ArgumentNullException.ThrowIfNull(promptIds);
        if (rows.Count == 0)
            throw new ArgumentException("The eval set is empty; give at least one row, or no eval set.", nameof(rows));

        var greedy = Generate(rows, promptIds, 1, seed, greedy: true, cancellationToken);
        var firstScores = greedy.Scores.ByReward[0];
        var metrics = new Dictionary<string, double>
        {
            ["eval_accuracy"] = firstScores.Count(s => s == 1.0) / (double)rows.Count,
        };
        if (_samples > 0)
        {
            var sampled = Generate(rows, promptIds, _samples, seed, greedy: false, cancellationToken);
            var stats = Advantages.Compute(sampled.Scores.ByReward, _weights, _samples, ScaleRewards.None);
            metrics["eval_reward"] = stats.RewardMean;
            metrics["eval_reward_std"] = stats.RewardStd;
            for (int k = 0; k < _rewards.Names.Count; k++)
            {
                metrics[$"eval_rewards/{_rewards.Names[k]}/mean"] = stats.MeanByFunction[k];
                metrics[$"eval_rewards/{_rewards.Names[k]}/std"] = stats.StdByFunction[k];
            }
            var first = sampled.Scores.ByReward[0];
            metrics[$"eval_pass@{_samples}"] = Enumerable.Range(0, rows.Count)
                .Count(r => Enumerable.Range(r * _samples, _samples).Any(i => first[i] == 1.0)) / (double)rows.Count;
            metrics["eval_completions/mean_length"] = sampled.Completions.Average(c => c.TokenIds.Length);
        }
        return new EvaluationResult
        {
            Metrics = metrics,
            Greedy = greedy.Completions.Select(c => new EvaluatedRow(rows[c.PromptIndex], c, firstScores[c.PromptIndex])).ToList(),
        };
    }

    private (IReadOnlyList<Completion> Completions, RewardScores Scores) Generate(
        IReadOnlyList<Problem> rows, IReadOnlyList<int[]> promptIds, int groupSize, long seed, bool greedy, CancellationToken cancellationToken)
    {
        var completions = _rollouts.GenerateAsync(new RolloutRequest(promptIds, groupSize, seed, greedy) { Problems = rows }, cancellationToken).GetAwaiter().GetResult();
        var inputs = completions.Select(c => c.ToRewardInput(rows[c.PromptIndex])).ToList();
        return (completions, _rewards.ScoreAsync(inputs, cancellationToken).GetAwaiter().GetResult());
    }
}
