using Grpo.Training;

namespace Grpo.Tests.Training;

/// <summary>
/// The GRPO loss written again, plainly, in loops over doubles, from TRL v1.9.0's code (<c>_compute_loss</c>,
/// <c>get_off_policy_mask</c>, <c>get_gamma_weights</c>, and the sampler correction of <c>_generate_and_score_completions</c>)
/// rather than from <see cref="GrpoLoss"/>: the independent side of the loss tests.
/// </summary>
internal static class ReferenceGrpoLoss
{
    public sealed record Settings(
        LossType LossType, ImportanceSamplingLevel Level, double Beta, double Epsilon, double EpsilonHigh, double? Delta,
        int MaxCompletionLength, double TopEntropyQuantile = 1.0)
    {
        public double SapoTemperaturePos { get; init; } = 1.0;
        public double SapoTemperatureNeg { get; init; } = 1.05;
        public double VespoKPos { get; init; } = 2.0;
        public double VespoLambdaPos { get; init; } = 3.0;
        public double VespoKNeg { get; init; } = 3.0;
        public double VespoLambdaNeg { get; init; } = 2.0;
        public bool UseBiasCorrectionKl { get; init; }
        public double? OffPolicyMaskThreshold { get; init; }
        public double EntropyCoef { get; init; }
        public bool UseAdaptiveEntropy { get; init; }

        public GrpoLossSettings ToLossSettings() => new()
        {
            LossType = LossType, ImportanceSamplingLevel = Level, Beta = Beta, Epsilon = Epsilon, EpsilonHigh = EpsilonHigh, Delta = Delta,
            MaxCompletionLength = MaxCompletionLength, TopEntropyQuantile = TopEntropyQuantile, SapoTemperaturePos = SapoTemperaturePos,
            SapoTemperatureNeg = SapoTemperatureNeg, VespoKPos = VespoKPos, VespoLambdaPos = VespoLambdaPos, VespoKNeg = VespoKNeg,
            VespoLambdaNeg = VespoLambdaNeg, UseBiasCorrectionKl = UseBiasCorrectionKl, OffPolicyMaskThreshold = OffPolicyMaskThreshold,
            EntropyCoef = EntropyCoef, UseAdaptiveEntropy = UseAdaptiveEntropy,
        };
    }

    /// <summary>Every value TRL logs for a micro-batch; NaN where TRL does not log it (the tests compare NaN with null).</summary>
    public sealed record Result(double Loss, double Kl, double ClipLow, double ClipHigh, double ClipRegion)
    {
        public double Entropy { get; init; } = double.NaN;
        public double ClipLowMin { get; init; } = double.NaN;
        public double ClipHighMax { get; init; } = double.NaN;
        public double CispoClipRatio { get; init; } = double.NaN;
        public double VespoPhiSeqMean { get; init; } = double.NaN;
        public double PolicyLoss { get; init; } = double.NaN;
        public double EntropySum { get; init; } = double.NaN;
        public double EntropyTokens { get; init; } = double.NaN;
    }

    /// <summary>The loss and metrics of one micro-batch. <paramref name="isRatio"/> is [B, T] or [B, 1]; <paramref name="sampler"/> falls back to π_old.</summary>
    public static Result Compute(
        Settings s, double[,] logp, double[,] old, double[,] reference, double[] advantages, double[,] mask,
        double[,]? entropies, double activeTokensInStep, int microBatches,
        double[,]? sampler = null, double[,]? isRatio = null, double? entropyCoefficient = null)
    {
        int rows = logp.GetLength(0), cols = logp.GetLength(1);
        var keep = s.TopEntropyQuantile < 1 ? EntropyKeep(entropies!, mask, 1 - s.TopEntropyQuantile) : null;
        var lengths = new double[rows];
        var sequenceLogRatio = new double[rows];
        var offPolicyKeep = new bool[rows];
        for (var b = 0; b < rows; b++)
        {
            double logRatioSum = 0, samplerKl = 0;
            for (var t = 0; t < cols; t++)
            {
                lengths[b] += mask[b, t];
                logRatioSum += mask[b, t] * (logp[b, t] - old[b, t]);
                samplerKl += mask[b, t] * ((sampler ?? old)[b, t] - logp[b, t]);
            }
            sequenceLogRatio[b] = logRatioSum / Math.Max(lengths[b], 1);
            offPolicyKeep[b] = s.OffPolicyMaskThreshold is not { } threshold || advantages[b] >= 0 || samplerKl / Math.Max(lengths[b], 1) <= threshold;
        }
        var phi = s.LossType == LossType.Vespo ? GammaWeights(s, logp, old, mask, advantages, isRatio) : null;

        // Per token: the loss, the KL, and the ratio the clip metrics see.
        var loss = new double[rows, cols];
        var kl = new double[rows, cols];
        var metricRatio = new double[rows, cols];
        for (var b = 0; b < rows; b++)
            for (var t = 0; t < cols; t++)
            {
                var a = advantages[b];
                var r = Math.Exp(s.Level == ImportanceSamplingLevel.Token ? logp[b, t] - old[b, t] : sequenceLogRatio[b]);
                var x = reference[b, t] - logp[b, t];
                kl[b, t] = (Math.Exp(x) - x - 1) * (s.UseBiasCorrectionKl ? r : 1);
                double l;
                switch (s.LossType)
                {
                    case LossType.Cispo:
                        l = -Math.Min(r, s.EpsilonHigh) * a * logp[b, t];
                        metricRatio[b, t] = r;
                        break;
                    case LossType.Sapo:
                        var tau = a > 0 ? s.SapoTemperaturePos : s.SapoTemperatureNeg;
                        l = -(1 / (1 + Math.Exp(-tau * (r - 1))) * 4 / tau) * a;
                        break;
                    case LossType.Vespo:
                        l = -phi![b] * a * logp[b, t];
                        break;
                    default:
                        var clipped = Math.Clamp(r, 1 - s.Epsilon, 1 + s.EpsilonHigh);
                        var capped = s.Delta is { } d ? Math.Min(r, d) : r;
                        l = -Math.Min(capped * a, clipped * a);
                        metricRatio[b, t] = capped;
                        break;
                }
                if (!offPolicyKeep[b]) l *= 0;
                if (keep is not null && !keep[b, t]) l *= 0;
                if (isRatio is not null && s.LossType != LossType.Vespo) l *= isRatio[b, isRatio.GetLength(1) == 1 ? 0 : t];
                if (s.Beta != 0) l += s.Beta * kl[b, t];
                loss[b, t] = l;
            }

        double total = 0, tokens = 0, meanOfSequenceMeans = 0;
        for (var b = 0; b < rows; b++)
        {
            double sum = 0;
            for (var t = 0; t < cols; t++)
                sum += loss[b, t] * mask[b, t];
            total += sum;
            tokens += lengths[b];
            meanOfSequenceMeans += sum / Math.Max(lengths[b], 1) / rows;
        }
        var tokenNormalised = s.LossType is LossType.Dapo or LossType.Cispo or LossType.Vespo;
        var policyLoss = s.LossType switch
        {
            LossType.Grpo or LossType.Sapo => meanOfSequenceMeans,
            LossType.Bnpo => total / Math.Max(tokens, 1),
            LossType.DrGrpo => total / (rows * s.MaxCompletionLength),
            LossType.Luspo => LuspoMean(s, loss, lengths, isRatio),
            _ => total / Math.Max(activeTokensInStep, 1),
        };
        var value = tokenNormalised ? policyLoss : policyLoss / microBatches;

        double entropySum = double.NaN, entropyTokens = double.NaN;
        if (s.EntropyCoef != 0 || s.UseAdaptiveEntropy)
        {
            entropySum = 0;
            entropyTokens = 0;
            for (var b = 0; b < rows; b++)
                for (var t = 0; t < cols; t++)
                {
                    var effective = mask[b, t] * (keep is null || keep[b, t] ? 1 : 0);
                    entropySum += entropies![b, t] * effective;
                    entropyTokens += effective;
                }
            var bonus = tokenNormalised ? entropySum / Math.Max(activeTokensInStep, 1) : entropySum / Math.Max(entropyTokens, 1) / microBatches;
            value -= (entropyCoefficient ?? s.EntropyCoef) * bonus;
        }

        double TokenMean(Func<int, int, double> f)
        {
            double sum = 0, count = 0;
            for (var b = 0; b < rows; b++)
                for (var t = 0; t < cols; t++)
                {
                    sum += f(b, t) * mask[b, t];
                    count += mask[b, t];
                }
            return sum / Math.Max(count, 1);
        }
        var perSequence = s.Level == ImportanceSamplingLevel.Sequence;
        double FlagMean(Func<int, int, bool> flag) => perSequence
            ? Enumerable.Range(0, rows).Average(b => flag(b, 0) ? 1.0 : 0.0)
            : TokenMean((b, t) => flag(b, t) ? 1 : 0);
        double[] RowMeans(Func<int, int, bool> flag) => Enumerable.Range(0, rows).Select(b =>
        {
            if (perSequence) return flag(b, 0) ? 1.0 : 0.0;
            var sum = 0.0;
            for (var t = 0; t < cols; t++) sum += (flag(b, t) ? 1 : 0) * mask[b, t];
            return sum / lengths[b]; // 0 / 0 = NaN for an empty row, as TRL's masked_seq_mean
        }).ToArray();

        var clipFamily = s.LossType is LossType.Grpo or LossType.Bnpo or LossType.DrGrpo or LossType.Dapo or LossType.Luspo;
        bool Low(int b, int t) => metricRatio[b, t] < 1 - s.Epsilon && advantages[b] < 0;
        bool High(int b, int t) => metricRatio[b, t] > 1 + s.EpsilonHigh && advantages[b] > 0;
        var nan = double.NaN;
        return new Result(
            value,
            s.Beta != 0 ? TokenMean((b, t) => kl[b, t]) : nan,
            clipFamily ? FlagMean(Low) : nan,
            clipFamily ? FlagMean(High) : nan,
            clipFamily ? FlagMean((b, t) => Low(b, t) || High(b, t)) : nan)
        {
            Entropy = entropies is null ? nan : TokenMean((b, t) => entropies[b, t]),
            ClipLowMin = clipFamily ? NanMin(RowMeans(Low)) : nan,
            ClipHighMax = clipFamily ? -NanMin(RowMeans(High).Select(v => -v).ToArray()) : nan,
            CispoClipRatio = s.LossType == LossType.Cispo ? FlagMean((b, t) => metricRatio[b, t] > s.EpsilonHigh && advantages[b] > 0) : nan,
            VespoPhiSeqMean = phi?.Average() ?? nan,
            PolicyLoss = s.EntropyCoef != 0 || s.UseAdaptiveEntropy ? policyLoss : nan,
            EntropySum = entropySum,
            EntropyTokens = entropyTokens,
        };
    }

    /// <summary>
    /// TRL's vllm importance-sampling ratio and the five <c>sampling/…</c> metrics over one batch, from the trainer's and
    /// the sampler's log-probs.
    /// </summary>
    public static (double[,] Ratio, Dictionary<string, double> Metrics) SamplerCorrection(
        double[,] old, double[,] sampler, double[,] mask, SamplerImportanceSamplingMode mode, double? clipMax, double? clipMin)
    {
        int rows = old.GetLength(0), cols = old.GetLength(1);
        var sequence = mode is SamplerImportanceSamplingMode.SequenceMask or SamplerImportanceSamplingMode.SequenceTruncate;
        var truncate = mode is SamplerImportanceSamplingMode.TokenTruncate or SamplerImportanceSamplingMode.SequenceTruncate;
        var ratio = new double[rows, sequence ? 1 : cols];
        var logged = new List<double>();
        var differences = new List<double>();
        for (var b = 0; b < rows; b++)
        {
            var sum = 0.0;
            for (var t = 0; t < cols; t++)
            {
                var d = (old[b, t] - sampler[b, t]) * mask[b, t];
                sum += d;
                if (mask[b, t] != 0) differences.Add(Math.Abs(old[b, t] - sampler[b, t]));
                if (!sequence) ratio[b, t] = Bound(Math.Exp(d));
            }
            if (sequence) ratio[b, 0] = Bound(Math.Exp(sum));
            for (var t = 0; t < cols; t++)
                if (sequence ? t == 0 : mask[b, t] != 0) logged.Add(ratio[b, sequence ? 0 : t]);
        }
        var metrics = new Dictionary<string, double>
        {
            ["sampling/sampling_logp_difference/mean"] = differences.Count == 0 ? 0 : differences.Average(),
            ["sampling/sampling_logp_difference/max"] = differences.Count == 0 ? 0 : differences.Max(),
            ["sampling/importance_sampling_ratio/min"] = logged.Count == 0 ? 0 : logged.Min(),
            ["sampling/importance_sampling_ratio/mean"] = logged.Count == 0 ? 0 : logged.Average(),
            ["sampling/importance_sampling_ratio/max"] = logged.Count == 0 ? 0 : logged.Max(),
        };
        return (ratio, metrics);

        double Bound(double r)
        {
            if (truncate)
            {
                if (clipMin is { } low && r < low) r = low;
                if (clipMax is { } high && r > high) r = high;
                return r;
            }
            return r < (clipMin ?? double.NegativeInfinity) || r > (clipMax ?? double.PositiveInfinity) ? 0 : r;
        }
    }

    // LUSPO: each loss times its sequence's length, then the plain mean of the tensor TRL holds at that point: one value
    // per sequence when every factor was per sequence, else every position, padding included.
    private static double LuspoMean(Settings s, double[,] loss, double[] lengths, double[,]? isRatio)
    {
        int rows = loss.GetLength(0), cols = loss.GetLength(1);
        var perSequence = s.Level == ImportanceSamplingLevel.Sequence && s.Beta == 0 && s.TopEntropyQuantile >= 1
                          && (isRatio is null || isRatio.GetLength(1) == 1);
        var sum = 0.0;
        for (var b = 0; b < rows; b++)
            for (var t = 0; t < (perSequence ? 1 : cols); t++)
                sum += loss[b, t] * lengths[b];
        return sum / (perSequence ? rows : rows * cols);
    }

    // VESPO's gamma weight per sequence, from get_gamma_weights.
    private static double[] GammaWeights(Settings s, double[,] logp, double[,] old, double[,] mask, double[] advantages, double[,]? isRatio)
    {
        var lower = Math.Log(1e-8);
        var phi = new double[logp.GetLength(0)];
        for (var b = 0; b < phi.Length; b++)
        {
            var logW = 0.0;
            for (var t = 0; t < logp.GetLength(1); t++)
            {
                logW += Math.Clamp(logp[b, t] - old[b, t], -20, 20) * mask[b, t];
                if (isRatio is not null) logW += Math.Clamp(Math.Log(isRatio[b, t]), lower, 20);
            }
            logW = Math.Clamp(logW, lower, 20);
            var (k, lambda) = advantages[b] >= 0 ? (s.VespoKPos, s.VespoLambdaPos) : (s.VespoKNeg, s.VespoLambdaNeg);
            lambda = Math.Max(lambda, 1e-4);
            var value = Math.Exp(lambda + k * logW - lambda * Math.Exp(logW));
            phi[b] = double.IsFinite(value) ? value : 0;
        }
        return phi;
    }

    private static double NanMin(double[] values)
    {
        var valid = values.Where(v => !double.IsNaN(v)).ToArray();
        return valid.Length == 0 ? double.NaN : valid.Min();
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
