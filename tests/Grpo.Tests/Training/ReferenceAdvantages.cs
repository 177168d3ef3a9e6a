using Grpo.Training;

namespace Grpo.Tests.Training;

/// <summary>
/// TRL v1.9.0's advantage and reward-metric code (<c>_generate_and_score_completions</c>, with <c>nanstd</c> from
/// trl/trainer/utils.py) written again over a [N, K] matrix of doubles, rather than from <see cref="Advantages"/>:
/// the independent side of the advantage tests.
/// </summary>
internal static class ReferenceAdvantages
{
    public sealed record Result(double[] Advantages, Dictionary<string, double> Metrics);

    /// <param name="perFunc">[N, K] rewards_per_func, NaN where a function returned None.</param>
    public static Result Compute(double[,] perFunc, double[] weights, int g, ScaleRewards scale, MultiObjectiveAggregation aggregation, string[] names)
    {
        int n = perFunc.GetLength(0), k = perFunc.GetLength(1);
        var unscorable = Enumerable.Range(0, n).Select(i => Enumerable.Range(0, k).All(j => double.IsNaN(perFunc[i, j]))).ToArray();
        double[] advantages;
        bool[] isStdZero;
        if (aggregation == MultiObjectiveAggregation.SumThenNormalize)
        {
            var rewards = WeightedNanSum(perFunc, weights, unscorable);
            var groupMean = Enumerable.Range(0, n).Select(i => NanMean(Slice(rewards, i / g * g, g))).ToArray();
            var std = scale == ScaleRewards.Batch
                ? Enumerable.Repeat(NanStd(rewards), n).ToArray()
                : Enumerable.Range(0, n).Select(i => NanStd(Slice(rewards, i / g * g, g))).ToArray();
            advantages = Enumerable.Range(0, n).Select(i => rewards[i] - groupMean[i]).ToArray();
            if (scale != ScaleRewards.None)
                advantages = advantages.Select((a, i) => a / (std[i] + 1e-4)).ToArray();
            isStdZero = std.Select(IsClose0).ToArray();
        }
        else
        {
            var normalised = new double[n, k];
            for (var j = 0; j < k; j++)
            {
                var column = Enumerable.Range(0, n).Select(i => perFunc[i, j]).ToArray();
                for (var i = 0; i < n; i++)
                {
                    var group = Slice(column, i / g * g, g);
                    normalised[i, j] = (column[i] - NanMean(group)) / (NanStd(group) + 1e-4);
                }
            }
            var rewards = WeightedNanSum(normalised, weights, unscorable);
            var std = NanStd(rewards);
            advantages = rewards.Select(r => (r - NanMean(rewards)) / (std + 1e-4)).ToArray();
            isStdZero = Enumerable.Repeat(IsClose0(std), n).ToArray();
        }
        advantages = advantages.Select(a => double.IsNaN(a) ? 0 : a).ToArray();

        var metrics = new Dictionary<string, double>();
        for (var j = 0; j < k; j++)
        {
            var column = Enumerable.Range(0, n).Select(i => perFunc[i, j]).ToArray();
            metrics[$"rewards/{names[j]}/mean"] = NanMean(column);
            metrics[$"rewards/{names[j]}/std"] = NanStd(column);
        }
        var logged = WeightedNanSum(perFunc, weights, unscorable);
        metrics["reward"] = NanMean(logged);
        metrics["reward_std"] = NanStd(logged);
        metrics["frac_reward_zero_std"] = isStdZero.Average(z => z ? 1.0 : 0.0);
        return new Result(advantages, metrics);
    }

    private static double[] WeightedNanSum(double[,] values, double[] weights, bool[] unscorable) =>
        Enumerable.Range(0, values.GetLength(0)).Select(i => unscorable[i]
            ? double.NaN
            : Enumerable.Range(0, weights.Length).Select(j => values[i, j] * weights[j]).Where(v => !double.IsNaN(v)).Sum()).ToArray();

    private static double[] Slice(double[] values, int start, int length) => values.Skip(start).Take(length).ToArray();

    // torch.isclose(x, 0): |x| ≤ atol 1e-8 (rtol · 0 adds nothing); NaN is never close.
    private static bool IsClose0(double x) => Math.Abs(x) <= 1e-8;

    private static double NanMean(double[] values)
    {
        var valid = values.Where(v => !double.IsNaN(v)).ToArray();
        return valid.Length == 0 ? double.NaN : valid.Sum() / valid.Length;
    }

    // nanstd: variance = nanmean((x − nanmean)²) · count / (count − 1), NaN where count ≤ 1.
    private static double NanStd(double[] values)
    {
        var valid = values.Where(v => !double.IsNaN(v)).ToArray();
        if (valid.Length <= 1) return double.NaN;
        var mean = valid.Average();
        var variance = valid.Select(v => (v - mean) * (v - mean)).Average();
        return Math.Sqrt(variance * valid.Length / (valid.Length - 1));
    }
}
