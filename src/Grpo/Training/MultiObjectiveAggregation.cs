namespace Grpo.Training;

/// <summary>How the scores of several reward functions become one advantage (TRL <c>multi_objective_aggregation</c>).</summary>
public enum MultiObjectiveAggregation
{
    /// <summary>
    /// Weighted sum of the scores first, then centred and scaled as <see cref="GrpoOptions.ScaleRewards"/> says
    /// (TRL <c>"sum_then_normalize"</c>, the default).
    /// </summary>
    SumThenNormalize,

    /// <summary>
    /// Each function's scores centred and divided by (their group's deviation + 1e-4) first, then the weighted sum,
    /// centred on the batch mean and divided by (the batch deviation + 1e-4) (TRL <c>"normalize_then_sum"</c>, GDPO,
    /// arXiv:2601.05242). <see cref="GrpoOptions.ScaleRewards"/> has no effect here, as in TRL's code.
    /// </summary>
    NormalizeThenSum,
}
