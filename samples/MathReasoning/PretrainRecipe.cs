using Grpo.Modeling;
using Grpo.Tokenization;
using Grpo.Training;

namespace Grpo.Samples.MathReasoning;

/// <summary>
/// What the <c>pretrain</c> command builds: a built-in model's tokenizer and architecture, the answers it learns from,
/// the prompts it is asked in, and the way of answering whose share the report follows. The maths sample's model
/// (<see cref="BuiltInModel.Recipe"/>) learns worked and bare answers; the tool sample's learns tool calls too.
/// </summary>
public sealed record PretrainRecipe
{
    /// <summary>The checkpoint's folder name, beside the sample's sources and copied beside its binaries.</summary>
    public required string FolderName { get; init; }

    /// <summary>The prompt format, tools included: pre-training, evaluation and GRPO all use it.</summary>
    public required PromptFormat Format { get; init; }

    /// <summary>The defaults of the command's options: those the committed checkpoint was made with.</summary>
    public required PretrainOptions Defaults { get; init; }

    /// <summary>Builds the tokenizer.</summary>
    public required Func<HfTokenizer> CreateTokenizer { get; init; }

    /// <summary>The architecture for a tokenizer.</summary>
    public required Func<HfTokenizer, ModelConfig> CreateConfig { get; init; }

    /// <summary>The reply the model learns for the index-th training problem: assistant turns, with tool turns between them.</summary>
    public required Func<WordProblem, int, PretrainOptions, IReadOnlyList<ChatMessage>> Reply { get; init; }

    /// <summary>The way of answering the report counts, as "(12 % {Method})": "worked", "called the tool".</summary>
    public required string Method { get; init; }

    /// <summary>Whether a completion answers that way.</summary>
    public required Func<EvaluatedRow, bool> UsesMethod { get; init; }

    /// <summary>Most tokens of a completion when the model is measured; default 48.</summary>
    public int MaxNewTokens { get; init; } = 48;

    /// <summary>The pre-training sequences for <paramref name="options"/>: an endless stream of training problems with their replies.</summary>
    public IEnumerable<TokenRow> Rows(HfTokenizer tokenizer, PretrainOptions options) =>
        ArithmeticWordProblems.Stream(options.Seed, ProblemSplit.Train)
            .Select((problem, i) => TokenRow.FromConversation(tokenizer, Format, problem.Question, Reply(problem, i, options), BuiltInModel.EndOfTurn));
}
