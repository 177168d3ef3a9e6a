namespace Grpo.Training;

/// <summary>
/// How the completions of one step are cut into the micro-batches of the policy pass: equal slices
/// (<see cref="GrpoOptions.GradientAccumulationSteps"/>, TRL's gradient accumulation), or packed by a token budget
/// (<see cref="GrpoOptions.MaxTokensPerMicroBatch"/>) so that a micro-batch's activations, not the step's, set the peak.
/// </summary>
internal static class MicroBatchPlan
{
    /// <summary>
    /// The rows of each micro-batch. <paramref name="promptLength"/> and <paramref name="completionLength"/> give a row's
    /// real token counts; <paramref name="completionFloor"/> is the completion width every micro-batch is padded to at
    /// least (see <see cref="RolloutBatch.Build"/>), so the budget counts the padding the batch will really hold.
    /// </summary>
    public static List<int[]> Split(int[] rows, Func<int, int> promptLength, Func<int, int> completionLength, int completionFloor, GrpoOptions options)
    {
        if (rows.Length == 0) return [];
        return options.MaxTokensPerMicroBatch > 0
            ? ByTokenBudget(rows, promptLength, completionLength, completionFloor, options.MaxTokensPerMicroBatch)
            : Slices(rows, options.GradientAccumulationSteps);
    }

    /// <summary><paramref name="count"/> near-equal slices in the rows' own order.</summary>
    private static List<int[]> Slices(int[] rows, int count)
    {
        int size = (int)Math.Ceiling(rows.Length / (double)count);
        var slices = new List<int[]>();
        for (int start = 0; start < rows.Length; start += size)
            slices.Add(rows[start..Math.Min(rows.Length, start + size)]);
        return slices;
    }

    /// <summary>
    /// Rows sorted by completion then prompt length, longest first (ties by row, so the plan is deterministic), packed
    /// greedily: a row joins the current micro-batch while rows × (longest prompt + longest completion) stays within
    /// <paramref name="budget"/>. Sorting keeps rows of like length together, so little of the budget goes to padding.
    /// </summary>
    private static List<int[]> ByTokenBudget(int[] rows, Func<int, int> promptLength, Func<int, int> completionLength, int completionFloor, int budget)
    {
        var ordered = rows.OrderByDescending(completionLength).ThenByDescending(promptLength).ThenBy(r => r).ToArray();
        var batches = new List<int[]>();
        var current = new List<int>();
        int longestPrompt = 0, longestCompletion = completionFloor;
        foreach (var row in ordered)
        {
            int prompt = Math.Max(longestPrompt, promptLength(row));
            int completion = Math.Max(longestCompletion, Math.Max(1, completionLength(row)));
            if (current.Count > 0 && (long)(current.Count + 1) * (prompt + completion) > budget)
            {
                batches.Add([.. current]);
                current.Clear();
                (prompt, completion) = (promptLength(row), Math.Max(completionFloor, Math.Max(1, completionLength(row))));
            }
            current.Add(row);
            (longestPrompt, longestCompletion) = (prompt, completion);
        }
        batches.Add([.. current]);
        return batches;
    }
}
