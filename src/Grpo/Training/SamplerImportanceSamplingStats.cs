namespace Grpo.Training;

/// <summary>
/// Partial statistics of the sampler correction, mergeable over the micro-batches of a generation batch (TRL computes its
/// metrics over the whole batch at once): |old − sampler| over mask-1 tokens, and the weights (over mask-1 tokens for the
/// token modes, over every completion for the sequence modes).
/// </summary>
public sealed record SamplerImportanceSamplingStats(
    double DifferenceSum, long DifferenceCount, double DifferenceMax, double RatioSum, long RatioCount, double RatioMin, double RatioMax)
{
    /// <summary>No values yet: the identity of <see cref="Merge"/>.</summary>
    public static SamplerImportanceSamplingStats Empty { get; } =
        new(0, 0, double.NegativeInfinity, 0, 0, double.PositiveInfinity, double.NegativeInfinity);

    internal static SamplerImportanceSamplingStats Of(double[] differences, double[] ratios) => new(
        differences.Sum(), differences.Length, differences.Length == 0 ? double.NegativeInfinity : differences.Max(),
        ratios.Sum(), ratios.Length, ratios.Length == 0 ? double.PositiveInfinity : ratios.Min(), ratios.Length == 0 ? double.NegativeInfinity : ratios.Max());

    /// <summary>The statistics of both parts together.</summary>
    public SamplerImportanceSamplingStats Merge(SamplerImportanceSamplingStats other)
    {
        ArgumentNullException.ThrowIfNull(other);
        return new(DifferenceSum + other.DifferenceSum, DifferenceCount + other.DifferenceCount, Math.Max(DifferenceMax, other.DifferenceMax),
            RatioSum + other.RatioSum, RatioCount + other.RatioCount, Math.Min(RatioMin, other.RatioMin), Math.Max(RatioMax, other.RatioMax));
    }

    /// <summary>
    /// TRL's metrics: <c>sampling/sampling_logp_difference/mean|max</c> and <c>sampling/importance_sampling_ratio/min|mean|max</c>;
    /// each 0 when it had no values, as TRL reports an empty selection.
    /// </summary>
    public IReadOnlyDictionary<string, double> Metrics() => new Dictionary<string, double>
    {
        ["sampling/sampling_logp_difference/mean"] = DifferenceCount == 0 ? 0 : DifferenceSum / DifferenceCount,
        ["sampling/sampling_logp_difference/max"] = DifferenceCount == 0 ? 0 : DifferenceMax,
        ["sampling/importance_sampling_ratio/min"] = RatioCount == 0 ? 0 : RatioMin,
        ["sampling/importance_sampling_ratio/mean"] = RatioCount == 0 ? 0 : RatioSum / RatioCount,
        ["sampling/importance_sampling_ratio/max"] = RatioCount == 0 ? 0 : RatioMax,
    };
}
