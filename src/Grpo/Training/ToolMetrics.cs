using Grpo.Sampling;

namespace Grpo.Training;

/// <summary>
/// Tool use of one step's rollouts, as TRL v1.9's GRPOTrainer logs it: <c>tools/call_frequency</c> is the tool calls
/// executed per completion, <c>tools/failure_frequency</c> the share of those calls that failed (0 when none ran).
/// </summary>
/// <param name="CallFrequency">Executed tool calls divided by the number of completions.</param>
/// <param name="FailureFrequency">Failed calls divided by executed calls; 0 without calls.</param>
public sealed record ToolMetrics(double CallFrequency, double FailureFrequency)
{
    /// <summary>The metrics of <paramref name="completions"/>; null when none of them came from a tool loop (no <see cref="Completion.Messages"/>).</summary>
    public static ToolMetrics? From(IReadOnlyList<Completion> completions)
    {
        ArgumentNullException.ThrowIfNull(completions);
        if (completions.Count == 0 || completions.All(c => c.Messages is null)) return null;
        long calls = completions.Sum(c => (long)c.ToolCalls), failures = completions.Sum(c => (long)c.ToolFailures);
        return new ToolMetrics(calls / (double)completions.Count, calls > 0 ? failures / (double)calls : 0.0);
    }

    /// <summary>The metrics under TRL's names.</summary>
    public IReadOnlyDictionary<string, double> ToDictionary() => new Dictionary<string, double>
    {
        ["tools/call_frequency"] = CallFrequency,
        ["tools/failure_frequency"] = FailureFrequency,
    };
}
