namespace Grpo.Training;

/// <summary>
/// Group-relative advantages (GRPO, DeepSeekMath §4.1.2) of one generation batch, with the reward statistics TRL logs.
/// Completions are ordered group by group: completions <c>g·G … g·G + G − 1</c> answer prompt g.
/// </summary>
/// <remarks>
/// <para>Plain C# over doubles rather than tensors: a batch holds at most a few thousand numbers that arrive from the reward
/// functions as <c>double[]</c> and leave as log lines, so float64 costs nothing, needs no device round trip, and is exact
/// enough to test against hand arithmetic. The trainer turns <see cref="Values"/> into a tensor once.</para>
/// <para>As TRL (<c>grpo_trainer.py</c>, <c>_generate_and_score_completions</c>, in the versions where <c>scale_rewards</c>
/// takes "group" | "batch" | "none"): a completion's reward is the weighted sum
/// of its scores ignoring NaN (<c>nansum</c>); A = (R − mean of its group) / (std + 1e-4), std being the unbiased standard
/// deviation of its group (<see cref="ScaleRewards.Group"/>) or of the whole batch (<see cref="ScaleRewards.Batch"/>),
/// or A = R − mean with no division (<see cref="ScaleRewards.None"/>).</para>
/// <para>Where TRL would count a completion with no applicable score at all as reward 0, here it has no reward
/// (<see cref="Rewards"/> holds NaN), takes no part in any mean or deviation, and gets advantage 0: nothing is known
/// about it, so it should push the policy neither way. A group or batch with fewer than two rewards has deviation 0.</para>
/// </remarks>
public sealed class Advantages
{
    /// <summary>TRL's 1e-4 added to the deviation, so a group whose rewards are almost equal does not blow up.</summary>
    public const double StdEpsilon = 1e-4;

    // torch.isclose(std, 0) with its default atol: how TRL decides a group's rewards are all equal.
    private const double ZeroStdTolerance = 1e-8;

    private Advantages() { }

    /// <summary>A[i], the advantage of completion i; 0 where the completion has no reward.</summary>
    public required double[] Values { get; init; }

    /// <summary>R[i], the weighted sum of completion i's non-NaN scores; NaN when every score was NaN.</summary>
    public required double[] Rewards { get; init; }

    /// <summary>The mean reward of each group (NaN for a group with no rewards).</summary>
    public required double[] GroupMeans { get; init; }

    /// <summary>The unbiased standard deviation of each group's rewards (0 when it has fewer than two).</summary>
    public required double[] GroupStds { get; init; }

    /// <summary>
    /// Whether each group's rewards are all equal (deviation ≤ 1e-8, or fewer than two rewards): such a group has no
    /// learning signal. DAPO's dynamic sampling drops these groups (<see cref="GrpoOptions.DropZeroStdGroups"/>).
    /// </summary>
    public required bool[] ZeroStdGroups { get; init; }

    /// <summary>
    /// Fraction of groups whose rewards are all equal (TRL metric <c>frac_reward_zero_std</c>). Always per group, also
    /// under <see cref="ScaleRewards.Batch"/>, where TRL reports whether the whole batch is constant.
    /// </summary>
    public double FracRewardZeroStd => ZeroStdGroups.Count(z => z) / (double)ZeroStdGroups.Length;

    /// <summary>Mean reward over the completions that have one (TRL metric <c>reward</c>).</summary>
    public required double RewardMean { get; init; }

    /// <summary>
    /// The deviation the advantages were scaled by, averaged over completions (TRL metric <c>reward_std</c>): the mean
    /// group deviation under Group and None, the batch deviation under Batch.
    /// </summary>
    public required double RewardStd { get; init; }

    /// <summary>Each reward function's mean score over the completions it applied to (TRL <c>rewards/NAME/mean</c>; NaN if none).</summary>
    public required double[] MeanByFunction { get; init; }

    /// <summary>Each reward function's unbiased score deviation over the completions it applied to (TRL <c>rewards/NAME/std</c>).</summary>
    public required double[] StdByFunction { get; init; }

    /// <summary>Computes the advantages of one generation batch.</summary>
    /// <param name="scoresByFunction"><c>scoresByFunction[k][i]</c>: reward function k's score for completion i, NaN for "not applicable" (as <c>RewardScores.ByReward</c>).</param>
    /// <param name="weights">One weight per reward function (<see cref="GrpoOptions.ResolveRewardWeights"/>).</param>
    /// <param name="numGenerations">G, the completions per prompt; the batch holds a whole number of groups.</param>
    /// <param name="scale">What the centred rewards are divided by.</param>
    public static Advantages Compute(IReadOnlyList<double[]> scoresByFunction, IReadOnlyList<double> weights, int numGenerations, ScaleRewards scale)
    {
        ArgumentNullException.ThrowIfNull(scoresByFunction);
        ArgumentNullException.ThrowIfNull(weights);
        if (scoresByFunction.Count == 0)
            throw new ArgumentException("Give the scores of at least one reward function.", nameof(scoresByFunction));
        if (weights.Count != scoresByFunction.Count)
            throw new ArgumentException($"{weights.Count} weights for {scoresByFunction.Count} reward functions; give one weight per function.", nameof(weights));
        ArgumentOutOfRangeException.ThrowIfLessThan(numGenerations, 2);
        var count = scoresByFunction[0].Length;
        for (var k = 0; k < scoresByFunction.Count; k++)
            if (scoresByFunction[k].Length != count)
                throw new ArgumentException(
                    $"Reward function {k} has {scoresByFunction[k].Length} scores but function 0 has {count}; every function scores every completion.",
                    nameof(scoresByFunction));
        if (count == 0 || count % numGenerations != 0)
            throw new ArgumentException(
                $"{count} completions do not form whole groups of {numGenerations}; sample NumGenerations completions for every prompt.",
                nameof(scoresByFunction));

        var rewards = new double[count];
        for (var i = 0; i < count; i++)
        {
            var sum = 0.0;
            var any = false;
            for (var k = 0; k < scoresByFunction.Count; k++)
            {
                var score = scoresByFunction[k][i];
                if (double.IsNaN(score)) continue;
                sum += weights[k] * score;
                any = true;
            }
            rewards[i] = any ? sum : double.NaN;
        }

        var groups = count / numGenerations;
        var means = new double[groups];
        var stds = new double[groups];
        var zeroStd = new bool[groups];
        for (var g = 0; g < groups; g++)
        {
            var group = new ArraySegment<double>(rewards, g * numGenerations, numGenerations);
            (means[g], stds[g]) = NanMeanStd(group);
            zeroStd[g] = stds[g] <= ZeroStdTolerance;
        }
        var batchStd = NanMeanStd(rewards).Std;

        var values = new double[count];
        for (var i = 0; i < count; i++)
        {
            if (double.IsNaN(rewards[i])) continue;
            var g = i / numGenerations;
            var centred = rewards[i] - means[g];
            values[i] = scale switch
            {
                ScaleRewards.Group => centred / (stds[g] + StdEpsilon),
                ScaleRewards.Batch => centred / (batchStd + StdEpsilon),
                ScaleRewards.None => centred,
                _ => throw new ArgumentOutOfRangeException(nameof(scale), scale, "Use Group, Batch or None."),
            };
        }

        return new Advantages
        {
            Values = values,
            Rewards = rewards,
            GroupMeans = means,
            GroupStds = stds,
            ZeroStdGroups = zeroStd,
            RewardMean = NanMeanStd(rewards).Mean,
            RewardStd = scale == ScaleRewards.Batch ? batchStd : stds.Average(),
            MeanByFunction = scoresByFunction.Select(s => NanMeanStd(s).Mean).ToArray(),
            StdByFunction = scoresByFunction.Select(s => NanMeanStd(s).Std).ToArray(),
        };
    }

    // Mean and unbiased (n − 1) deviation of the non-NaN values; mean NaN when there are none, deviation 0 below two.
    private static (double Mean, double Std) NanMeanStd(IReadOnlyList<double> values)
    {
        var n = 0;
        var sum = 0.0;
        foreach (var v in values)
            if (!double.IsNaN(v)) { sum += v; n++; }
        if (n == 0) return (double.NaN, 0);
        var mean = sum / n;
        if (n < 2) return (mean, 0);
        var squares = 0.0;
        foreach (var v in values)
            if (!double.IsNaN(v)) squares += (v - mean) * (v - mean);
        return (mean, Math.Sqrt(squares / (n - 1)));
    }
}
