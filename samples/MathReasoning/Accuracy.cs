using System.Globalization;
using System.Text.RegularExpressions;
using Grpo.Modeling;
using Grpo.Sampling;
using Grpo.Tokenization;

namespace Grpo.Samples.MathReasoning;

/// <summary>How often a model's answers to a set of problems are right: greedy (pass@1) or any of k samples (pass@k).</summary>
public static partial class Accuracy
{
    /// <summary>The share of problems whose greedy completion ends in the right "#### n".</summary>
    public static double Greedy(CausalLM model, ITokenizer tokenizer, IReadOnlyList<WordProblem> problems, int maxNewTokens, CancellationToken cancellationToken = default) =>
        PassAtK(model, tokenizer, problems, 1, new SamplingOptions { TopK = 1, MaxNewTokens = maxNewTokens, PromptsPerBatch = 64 }, cancellationToken);

    /// <summary>The share of problems for which at least one of <paramref name="k"/> sampled completions is right.</summary>
    public static double PassAtK(CausalLM model, ITokenizer tokenizer, IReadOnlyList<WordProblem> problems, int k, SamplingOptions sampling, CancellationToken cancellationToken = default)
    {
        using var sampler = new GroupSampler(model, tokenizer, sampling);
        var completions = sampler.Sample(problems.Select(p => BuiltInModel.Prompt(p.Question)).ToList(), k, cancellationToken);
        int solved = completions.GroupBy(c => c.PromptIndex).Count(g => g.Any(c => IsCorrect(c.Text, problems[g.Key].Result)));
        return (double)solved / problems.Count;
    }

    /// <summary>True when the completion's "#### n" line gives exactly <paramref name="expected"/>.</summary>
    public static bool IsCorrect(string completion, long expected)
    {
        var match = FinalAnswer().Match(completion);
        return match.Success && long.TryParse(match.Groups[1].Value, NumberStyles.AllowLeadingSign, CultureInfo.InvariantCulture, out var value) && value == expected;
    }

    [GeneratedRegex(@"####\s*(-?\d+)\s*$")]
    private static partial Regex FinalAnswer();
}
