using Grpo.Data;
using Grpo.Modeling;
using Grpo.Rewards;
using Grpo.Rewards.Math;
using Grpo.Sampling;
using Grpo.Tokenization;
using Grpo.Training;

namespace Grpo.Samples.MathReasoning;

/// <summary>
/// Measures a model on problems with the same maths reward that trains it, for pre-training (the GRPO run measures
/// itself with the trainer's <c>GrpoEvaluator</c>, graded the same way): greedy accuracy and pass@k of sampled
/// completions, and the share that show their working or call a tool. A format with tools samples with the tool loop
/// GRPO uses (<see cref="ToolRollouts"/>), so the model is measured as it will be trained.
/// </summary>
public static class Evaluation
{
    static readonly MathAnswerReward Reward = new(MathProblems.AnswerField);

    /// <summary>Greedy decoding of every problem; returns one graded completion per problem, in order.</summary>
    public static IReadOnlyList<EvaluatedRow> Greedy(
        CausalLM model, ITokenizer tokenizer, PromptFormat format, IReadOnlyList<Problem> problems, int maxNewTokens, CancellationToken cancellationToken = default) =>
        Sample(model, tokenizer, format, problems, 1, new SamplingOptions { TopK = 1, MaxNewTokens = maxNewTokens, PromptsPerBatch = 64 }, cancellationToken)
            .Select(group => group[0]).ToList();

    /// <summary><paramref name="k"/> completions of each problem drawn with <paramref name="sampling"/>, graded; one list per problem, in order.</summary>
    public static IReadOnlyList<IReadOnlyList<EvaluatedRow>> Sample(
        CausalLM model, ITokenizer tokenizer, PromptFormat format, IReadOnlyList<Problem> problems, int k, SamplingOptions sampling,
        CancellationToken cancellationToken = default)
    {
        var rollouts = Rollouts(model, tokenizer, format, sampling);
        using var owned = (IDisposable)rollouts;
        var prompts = problems.Select(p => tokenizer.Encode(format.Format(p.Prompt))).ToList();
        var completions = rollouts.GenerateAsync(new RolloutRequest(prompts, k, sampling.Seed) { Problems = problems }, cancellationToken)
            .GetAwaiter().GetResult();   // both sources decode on this thread and return a finished task
        return completions.GroupBy(c => c.PromptIndex)
            .Select(group => (IReadOnlyList<EvaluatedRow>)group.Select(c => Grade(problems[c.PromptIndex], c)).ToList())
            .ToList();
    }

    /// <summary>The share of completions that call a tool at least once.</summary>
    public static double CalledTool(IReadOnlyList<EvaluatedRow> completions) => Share(completions, CallsTool);

    /// <summary>True when the completion called a tool.</summary>
    public static bool CallsTool(EvaluatedRow completion) => completion.Completion.ToolCalls > 0;

    /// <summary>The most rounds of tool calls a completion may make; the built-in task needs one.</summary>
    public const int MaxToolCallingIterations = 2;

    static IRolloutSource Rollouts(CausalLM model, ITokenizer tokenizer, PromptFormat format, SamplingOptions sampling) =>
        format.ToolList.Count == 0
            ? new InProcessRollouts(model, tokenizer, sampling)
            : new ToolRollouts(model, tokenizer, (IToolChatFormatter)format.Chat, sampling, format.ToolList, MaxToolCallingIterations, TimeSpan.FromSeconds(30));

    /// <summary>The share of problems with at least one correct completion (pass@k for groups of k; accuracy for k = 1).</summary>
    public static double Solved(IReadOnlyList<IReadOnlyList<EvaluatedRow>> groups) => Share(groups, g => g.Any(c => c.Correct));

    /// <summary>The share of correct completions.</summary>
    public static double Solved(IReadOnlyList<EvaluatedRow> completions) => Share(completions, c => c.Correct);

    /// <summary>The share of completions that write out working ("3*4=12") before the final answer.</summary>
    public static double Worked(IReadOnlyList<EvaluatedRow> completions) => Share(completions, ShowsWork);

    /// <summary>True when the completion has at least one worked step, a line with an equals sign.</summary>
    public static bool ShowsWork(EvaluatedRow completion) => completion.Completion.Text.Contains('=');

    /// <summary>The share of <paramref name="items"/> that satisfy <paramref name="predicate"/>; 0 for none.</summary>
    public static double Share<T>(IReadOnlyList<T> items, Func<T, bool> predicate) =>
        items.Count == 0 ? 0 : items.Count(predicate) / (double)items.Count;

    static EvaluatedRow Grade(Problem problem, Completion completion) =>
        new(problem, completion, Reward.Score(new RewardInput(problem.Prompt, completion.Text, completion.TokenIds, problem.Fields)));
}
