using Grpo.Data;
using Grpo.Modeling;
using Grpo.Rewards;
using Grpo.Rewards.Math;
using Grpo.Sampling;
using Grpo.Tokenization;

namespace Grpo.Samples.MathReasoning;

/// <summary>One sampled answer to a problem and whether the maths reward counts it right.</summary>
/// <param name="Problem">The problem.</param>
/// <param name="Completion">The model's text.</param>
/// <param name="Correct">True when its final answer equals the gold one.</param>
public sealed record GradedCompletion(Problem Problem, string Completion, bool Correct);

/// <summary>
/// Measures a model on problems with the same maths reward that trains it: greedy accuracy (pass@1 with greedy
/// decoding, the number the before / after table shows) and pass@k of sampled completions.
/// </summary>
public static class Evaluation
{
    static readonly MathAnswerReward Reward = new(MathProblems.AnswerField);

    /// <summary>Greedy decoding of every problem; returns one graded completion per problem, in order.</summary>
    public static IReadOnlyList<GradedCompletion> Greedy(
        CausalLM model, ITokenizer tokenizer, PromptFormat format, IReadOnlyList<Problem> problems, int maxNewTokens, CancellationToken cancellationToken = default) =>
        Sample(model, tokenizer, format, problems, 1, new SamplingOptions { TopK = 1, MaxNewTokens = maxNewTokens, PromptsPerBatch = 64 }, cancellationToken)
            .Select(group => group[0]).ToList();

    /// <summary><paramref name="k"/> completions of each problem drawn with <paramref name="sampling"/>, graded; one list per problem, in order.</summary>
    public static IReadOnlyList<IReadOnlyList<GradedCompletion>> Sample(
        CausalLM model, ITokenizer tokenizer, PromptFormat format, IReadOnlyList<Problem> problems, int k, SamplingOptions sampling,
        CancellationToken cancellationToken = default)
    {
        using var sampler = new GroupSampler(model, tokenizer, sampling);
        var completions = sampler.Sample(problems.Select(p => format.Format(p.Prompt)).ToList(), k, cancellationToken);
        return completions.GroupBy(c => c.PromptIndex)
            .Select(group => (IReadOnlyList<GradedCompletion>)group.Select(c => Grade(problems[c.PromptIndex], c)).ToList())
            .ToList();
    }

    /// <summary>The share of problems with at least one correct completion (pass@k for groups of k; accuracy for k = 1).</summary>
    public static double Solved(IReadOnlyList<IReadOnlyList<GradedCompletion>> groups) => Share(groups, g => g.Any(c => c.Correct));

    /// <summary>The share of correct completions.</summary>
    public static double Solved(IReadOnlyList<GradedCompletion> completions) => Share(completions, c => c.Correct);

    /// <summary>The share of completions that write out working ("3*4=12") before the final answer.</summary>
    public static double Worked(IReadOnlyList<GradedCompletion> completions) => Share(completions, ShowsWork);

    /// <summary>True when the completion has at least one worked step, a line with an equals sign.</summary>
    public static bool ShowsWork(GradedCompletion completion) => completion.Completion.Contains('=');

    /// <summary>The share of <paramref name="items"/> that satisfy <paramref name="predicate"/>; 0 for none.</summary>
    static double Share<T>(IReadOnlyList<T> items, Func<T, bool> predicate) =>
        items.Count == 0 ? 0 : items.Count(predicate) / (double)items.Count;

    static GradedCompletion Grade(Problem problem, Completion completion) =>
        new(problem, completion.Text, Reward.Score(new RewardInput(problem.Prompt, completion.Text, completion.TokenIds, problem.Fields)) == 1.0);
}
