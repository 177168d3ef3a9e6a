using Grpo.Training;

namespace Grpo.Tests.Training;

/// <summary>
/// The GRPO loss written again, plainly, in loops over doubles, from the formulas (TRL <c>_compute_loss</c>) rather than
/// from <see cref="GrpoLoss"/>: the independent side of the loss tests.
/// </summary>
internal static class ReferenceGrpoLoss
{
    public sealed record Settings(
        LossType LossType, ImportanceSamplingLevel Level, double Beta, double Epsilon, double EpsilonHigh, double? Delta,
        int MaxCompletionLength, double TopEntropyQuantile = 1.0);

    public sealed record Result(double Loss, double Kl, double ClipLow, double ClipHigh, double ClipRegion);

    public static Result Compute(
        Settings s, double[,] logp, double[,] old, double[,] reference, double[] advantages, double[,] mask,
        double[,]? entropies, double activeTokensInStep, int microBatches)
    {
        int rows = logp.GetLength(0), cols = logp.GetLength(1);
        var keep = s.TopEntropyQuantile < 1 ? EntropyKeep(entropies!, mask, 1 - s.TopEntropyQuantile) : null;
        var loss = new double[rows, cols];
        var kl = new double[rows, cols];
        var low = new bool[rows, cols];
        var high = new bool[rows, cols];
        for (var b = 0; b < rows; b++)
        {
            var length = 0.0;
            var logRatioSum = 0.0;
            for (var t = 0; t < cols; t++)
            {
                length += mask[b, t];
                logRatioSum += mask[b, t] * (logp[b, t] - old[b, t]);
            }
            var sequenceLogRatio = logRatioSum / Math.Max(length, 1);

            for (var t = 0; t < cols; t++)
            {
                var logRatio = s.Level == ImportanceSamplingLevel.Token ? logp[b, t] - old[b, t] : sequenceLogRatio;
                var r = Math.Exp(logRatio);
                var clipped = Math.Clamp(r, 1 - s.Epsilon, 1 + s.EpsilonHigh);
                var capped = s.Delta is { } d ? Math.Min(r, d) : r;
                var a = advantages[b];
                var l = -Math.Min(capped * a, clipped * a);
                if (keep is not null && !keep[b, t]) l = 0;
                var x = reference[b, t] - logp[b, t];
                kl[b, t] = Math.Exp(x) - x - 1;
                if (s.Beta != 0) l += s.Beta * kl[b, t];
                loss[b, t] = l;
                low[b, t] = capped < 1 - s.Epsilon && a < 0;
                high[b, t] = capped > 1 + s.EpsilonHigh && a > 0;
            }
        }

        double total = 0, tokens = 0, meanOfSequenceMeans = 0;
        for (var b = 0; b < rows; b++)
        {
            double sum = 0, length = 0;
            for (var t = 0; t < cols; t++)
            {
                sum += loss[b, t] * mask[b, t];
                length += mask[b, t];
            }
            total += sum;
            tokens += length;
            meanOfSequenceMeans += sum / Math.Max(length, 1) / rows;
        }
        var value = s.LossType switch
        {
            LossType.Grpo => meanOfSequenceMeans / microBatches,
            LossType.Bnpo => total / Math.Max(tokens, 1) / microBatches,
            LossType.DrGrpo => total / (rows * s.MaxCompletionLength) / microBatches,
            LossType.Dapo => total / activeTokensInStep,
            _ => throw new ArgumentOutOfRangeException(nameof(s)),
        };

        // Token means over mask-1 tokens; under GSPO every token of a row shares the row's flag, averaged over rows.
        double TokenMean(Func<int, int, double> f)
        {
            double sum = 0, count = 0;
            for (var b = 0; b < rows; b++)
                for (var t = 0; t < cols; t++)
                {
                    sum += f(b, t) * mask[b, t];
                    count += mask[b, t];
                }
            return sum / count;
        }
        double FlagMean(bool[,] flags) => s.Level == ImportanceSamplingLevel.Token
            ? TokenMean((b, t) => flags[b, t] ? 1 : 0)
            : Enumerable.Range(0, rows).Average(b => flags[b, 0] ? 1.0 : 0.0);
        var region = new bool[rows, cols];
        for (var b = 0; b < rows; b++)
            for (var t = 0; t < cols; t++)
                region[b, t] = low[b, t] || high[b, t];
        return new Result(value, TokenMean((b, t) => kl[b, t]), FlagMean(low), FlagMean(high), FlagMean(region));
    }

    // Tokens at or above the q-quantile (linear interpolation between sorted values) of the mask-1 tokens' entropies.
    private static bool[,] EntropyKeep(double[,] entropies, double[,] mask, double q)
    {
        var values = new List<double>();
        for (var b = 0; b < entropies.GetLength(0); b++)
            for (var t = 0; t < entropies.GetLength(1); t++)
                if (mask[b, t] != 0) values.Add(entropies[b, t]);
        values.Sort();
        var position = q * (values.Count - 1);
        var lower = (int)Math.Floor(position);
        var upper = Math.Min(lower + 1, values.Count - 1);
        var threshold = values[lower] + (position - lower) * (values[upper] - values[lower]);
        var keep = new bool[entropies.GetLength(0), entropies.GetLength(1)];
        for (var b = 0; b < entropies.GetLength(0); b++)
            for (var t = 0; t < entropies.GetLength(1); t++)
                keep[b, t] = mask[b, t] != 0 && entropies[b, t] >= threshold;
        return keep;
    }
}
