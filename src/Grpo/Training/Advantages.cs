namespace Grpo.Training;

/// <summary>
/// Group-relative advantages (GRPO, DeepSeekMath §4.1.2) of one generation batch, with the reward statistics TRL logs.
/// Completions are ordered group by group: completions <c>g·G … g·G + G − 1</c> answer prompt g.
/// </summary>
/// <remarks>
/// <para>Plain C# over doubles rather than tensors: a batch holds at most a few thousand numbers that arrive from the reward
/// functions as <c>double[]</c> and leave as log lines, so float64 costs nothing, needs no device round trip, and is exact
/// enough to test against hand arithmetic. The trainer turns <see cref="Values"/> into a tensor once.</para>
/// <para>As TRL v1.9.0 (<c>grpo_trainer.py</c>, <c>_generate_and_score_completions</c>), with its <c>nanmean</c> and
/// <c>nanstd</c> (Bessel-corrected, NaN below two values). <see cref="MultiObjectiveAggregation.SumThenNormalize"/>: a
/// completion's reward R is the weighted sum of its scores ignoring NaN; A = (R − mean of its group) / (std + 1e-4), std
/// being the deviation of its group (<see cref="ScaleRewards.Group"/>) or of the whole batch (<see cref="ScaleRewards.Batch"/>),
/// or A = R − mean (<see cref="ScaleRewards.None"/>). <see cref="MultiObjectiveAggregation.NormalizeThenSum"/>: each
/// function's scores are first turned into (score − group mean) / (group std + 1e-4), their weighted sum ignoring NaN
/// is R, and A = (R − batch mean) / (batch std + 1e-4) whatever <see cref="ScaleRewards"/> says.</para>
/// <para>A completion whose every score is NaN (no reward function applied) is unscorable: its R is NaN, it takes no part
/// in any mean or deviation, and its advantage is 0, exactly as TRL 1.9 does. Any other advantage that comes out NaN (a
/// group with a single scorable completion, whose deviation is NaN) is 0 too, as TRL's <c>nan_to_num</c> makes it.</para>
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

    /// <summary>The mean of each group's <see cref="Rewards"/> (NaN for a group with none).</summary>
    public required double[] GroupMeans { get; init; }

    /// <summary>The Bessel-corrected deviation of each group's <see cref="Rewards"/> (NaN when it has fewer than two, as <c>nanstd</c>).</summary>
    public required double[] GroupStds { get; init; }

    /// <summary>
    /// Whether each group's rewards are all equal (deviation ≤ 1e-8, or fewer than two rewards): such a group has no
    /// learning signal. DAPO's dynamic sampling drops these groups (<see cref="GrpoOptions.DropZeroStdGroups"/>).
    /// </summary>
    public required bool[] ZeroStdGroups { get; init; }

    /// <summary>
    /// TRL's <c>frac_reward_zero_std</c>: the share of completions whose scaling deviation is 0 by <c>torch.isclose</c>
    /// (|std| ≤ 1e-8; a NaN deviation is not 0). The group's deviation under Group and None, the batch's under Batch and
    /// under NormalizeThenSum, so there it is 0 or 1.
    /// </summary>
    public required double FracRewardZeroStd { get; init; }

    /// <summary>Mean of the non-NaN <see cref="Rewards"/> (TRL metric <c>reward</c>).</summary>
    public required double RewardMean { get; init; }

    /// <summary>Bessel-corrected deviation of the non-NaN <see cref="Rewards"/> over the whole batch (TRL metric <c>reward_std</c>).</summary>
    public required double RewardStd { get; init; }

    /// <summary>Each reward function's mean score over the completions it applied to (TRL <c>rewards/NAME/mean</c>; NaN if none).</summary>
    public required double[] MeanByFunction { get; init; }

    /// <summary>Each reward function's Bessel-corrected score deviation over the completions it applied to (TRL <c>rewards/NAME/std</c>; NaN below two).</summary>
    public required double[] StdByFunction { get; init; }

    /// <summary>
    /// The metrics under TRL's names: <c>reward</c>, <c>reward_std</c>, <c>frac_reward_zero_std</c> and
    /// <c>rewards/NAME/mean|std</c> for each of <paramref name="rewardNames"/> (in the order of the scores).
    /// </summary>
    public IReadOnlyDictionary<string, double> Metrics(IReadOnlyList<string> rewardNames)
    {
        ArgumentNullException.ThrowIfNull(rewardNames);
        if (rewardNames.Count != MeanByFunction.Length)
            throw new ArgumentException($"{rewardNames.Count} names for {MeanByFunction.Length} reward functions; give one name per function.", nameof(rewardNames));
        var metrics = new Dictionary<string, double>();
        for (var k = 0; k < rewardNames.Count; k++)
        {
            metrics[$"rewards/{rewardNames[k]}/mean"] = MeanByFunction[k];
            metrics[$"rewards/{rewardNames[k]}/std"] = StdByFunction[k];
        }
        metrics["reward"] = RewardMean;
        metrics["reward_std"] = RewardStd;
        metrics["frac_reward_zero_std"] = FracRewardZeroStd;
        return metrics;
    }

    /// <summary>Computes the advantages of one generation batch.</summary>
    /// <param name="scoresByFunction"><c>scoresByFunction[k][i]</c>: reward function k's score for completion i, NaN for "not applicable" (as <c>RewardScores.ByReward</c>).</param>
    /// <param name="weights">One weight per reward function (<see cref="GrpoOptions.ResolveRewardWeights"/>).</param>
    /// <param name="numGenerations">G, the completions per prompt; the batch holds a whole number of groups.</param>
    /// <param name="scale">What the centred rewards are divided by (SumThenNormalize only).</param>
    /// <param name="aggregation">How several reward functions are combined (<see cref="GrpoOptions.MultiObjectiveAggregation"/>).</param>
    public static Advantages Compute(
        IReadOnlyList<double[]> scoresByFunction, IReadOnlyList<double> weights, int numGenerations, ScaleRewards scale,
        MultiObjectiveAggregation aggregation = MultiObjectiveAggregation.SumThenNormalize)
    {
        Validate(scoresByFunction, weights, numGenerations, scale, aggregation);
        var count = scoresByFunction[0].Length;
        var functions = scoresByFunction.Count;
        var groups = count / numGenerations;
        var unscorable = Enumerable.Range(0, count).Select(i => scoresByFunction.All(s => double.IsNaN(s[i]))).ToArray();

        // The logged reward, and SumThenNormalize's R: the weighted nansum, NaN for unscorable completions.
        var rewards = WeightedNanSum(count, functions, (k, i) => scoresByFunction[k][i], weights, unscorable);
        var groupMeans = new double[groups];
        var groupStds = new double[groups];
        for (var g = 0; g < groups; g++)
        {
            var group = new ArraySegment<double>(rewards, g * numGenerations, numGenerations);
            groupMeans[g] = NanMean(group);
            groupStds[g] = NanStd(group);
        }

        var values = new double[count];
        var stdZero = new bool[count];
        if (aggregation == MultiObjectiveAggregation.SumThenNormalize)
        {
            var batchStd = NanStd(rewards);
            for (var i = 0; i < count; i++)
            {
                var g = i / numGenerations;
                var std = scale == ScaleRewards.Batch ? batchStd : groupStds[g];
                var advantage = rewards[i] - groupMeans[g];
                if (scale != ScaleRewards.None)
                    advantage /= std + StdEpsilon;
                values[i] = double.IsNaN(advantage) ? 0 : advantage;
                stdZero[i] = IsCloseToZero(std);
            }
        }
        else
        {
            // GDPO: each function normalised within its group first.
            var normalised = new double[functions][];
            for (var k = 0; k < functions; k++)
            {
                normalised[k] = new double[count];
                for (var g = 0; g < groups; g++)
                {
                    var group = new ArraySegment<double>(scoresByFunction[k], g * numGenerations, numGenerations);
                    var (mean, std) = (NanMean(group), NanStd(group));
                    for (var j = 0; j < numGenerations; j++)
                        normalised[k][g * numGenerations + j] = (group[j] - mean) / (std + StdEpsilon);
                }
            }
            var summed = WeightedNanSum(count, functions, (k, i) => normalised[k][i], weights, unscorable);
            var (batchMean, batchStd) = (NanMean(summed), NanStd(summed));
            for (var i = 0; i < count; i++)
            {
                var advantage = (summed[i] - batchMean) / (batchStd + StdEpsilon);
                values[i] = double.IsNaN(advantage) ? 0 : advantage;
                stdZero[i] = IsCloseToZero(batchStd);
            }
        }

        return new Advantages
        {
            Values = values,
            Rewards = rewards,
            GroupMeans = groupMeans,
            GroupStds = groupStds,
            ZeroStdGroups = groupStds.Select(std => double.IsNaN(std) || std <= ZeroStdTolerance).ToArray(),
            FracRewardZeroStd = stdZero.Count(z => z) / (double)count,
            RewardMean = NanMean(rewards),
            RewardStd = NanStd(rewards),
            MeanByFunction = scoresByFunction.Select(s => NanMean(s)).ToArray(),
            StdByFunction = scoresByFunction.Select(s => NanStd(s)).ToArray(),
        };
    }

    private static void Validate(
        IReadOnlyList<double[]> scoresByFunction, IReadOnlyList<double> weights, int numGenerations, ScaleRewards scale, MultiObjectiveAggregation aggregation)
    {
        ArgumentNullException.ThrowIfNull(scoresByFunction);
        ArgumentNullException.ThrowIfNull(weights);
        if (scoresByFunction.Count == 0)
            throw new ArgumentException("Give the scores of at least one reward function.", nameof(scoresByFunction));
        if (weights.Count != scoresByFunction.Count)
            throw new ArgumentException($"{weights.Count} weights for {scoresByFunction.Count} reward functions; give one weight per function.", nameof(weights));
        ArgumentOutOfRangeException.ThrowIfLessThan(numGenerations, 2);
        if (!Enum.IsDefined(scale))
            throw new ArgumentOutOfRangeException(nameof(scale), scale, "Use Group, Batch or None.");
        if (!Enum.IsDefined(aggregation))
            throw new ArgumentOutOfRangeException(nameof(aggregation), aggregation, "Use SumThenNormalize or NormalizeThenSum.");
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
    }

    // torch.nansum over weighted scores: NaN products are skipped; unscorable completions are then set to NaN.
    private static double[] WeightedNanSum(int count, int functions, Func<int, int, double> score, IReadOnlyList<double> weights, bool[] unscorable)
    {
        var sums = new double[count];
        for (var i = 0; i < count; i++)
        {
            if (unscorable[i]) { sums[i] = double.NaN; continue; }
            for (var k = 0; k < functions; k++)
            {
                var term = score(k, i) * weights[k];
                if (!double.IsNaN(term)) sums[i] += term;
            }
        }
        return sums;
    }

    private static bool IsCloseToZero(double std) => Math.Abs(std) <= ZeroStdTolerance;

    // torch.nanmean: the mean of the non-NaN values, NaN when there are none.
    private static double NanMean(IReadOnlyList<double> values)
    {
        double sum = 0;
        var n = 0;
        foreach (var v in values)
            if (!double.IsNaN(v)) { sum += v; n++; }
        return n == 0 ? double.NaN : sum / n;
    }

    // TRL's nanstd: nanmean of squared deviations times n / (n − 1), square-rooted; NaN below two values.
    private static double NanStd(IReadOnlyList<double> values)
    {
        var mean = NanMean(values);
        double squares = 0;
        var n = 0;
        foreach (var v in values)
            if (!double.IsNaN(v)) { squares += (v - mean) * (v - mean); n++; }
        return n < 2 ? double.NaN : Math.Sqrt(squares / n * (n / (n - 1.0)));
    }
}
