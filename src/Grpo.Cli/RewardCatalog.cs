using Grpo.Data;
using Grpo.Rewards;
using Grpo.Rewards.Code;
using Grpo.Rewards.Math;
using Grpo.Rewards.Shaping;

namespace Grpo.Cli;

/// <summary>
/// The reward functions the commands know by name (<c>--reward math</c>), built once here so train and eval agree,
/// and the check that every dataset row carries what its rewards read, done before any model work.
/// </summary>
sealed class RewardCatalog : IDisposable
{
    /// <summary>Every name <c>--reward</c> accepts, in the order help lists them.</summary>
    public static readonly IReadOnlyList<string> Names =
        ["math", "code", "code_compiles", "think_format", "strict_format", "tag_count", "reasoning_steps", "repetition_penalty", "cosine_length", "soft_overlong"];

    /// <summary>One line per name, for help text.</summary>
    public const string Help =
        "math: 1 when the final answer equals the row's \"answer\" (GSM8K '#### n', \\boxed{} or bare); " +
        "code: fraction of the row's C# tests passed (\"test\" + \"prompt\", or \"tests\"); code_compiles: 0.1 when the program compiles; " +
        "think_format, strict_format, tag_count: <think>/<answer> layout; reasoning_steps: step markers; repetition_penalty: repeated 3-grams; " +
        "cosine_length: length shaping by the math reward's verdict; soft_overlong: DAPO penalty over the last fifth of the completion length.";

    CodeVerifier? _codeVerifier;

    /// <summary>The reward functions, in the order named.</summary>
    public IReadOnlyList<IRewardFunction> Functions { get; }

    /// <param name="names">Names from <see cref="Names"/>; each at most once.</param>
    /// <param name="maxCompletionLength">The sampler's token limit, which soft_overlong punishes against.</param>
    public RewardCatalog(IReadOnlyList<string> names, int maxCompletionLength)
    {
        if (names.Count == 0)
            throw new ArgumentException("Give at least one --reward: " + string.Join(", ", Names) + ".");
        if (names.GroupBy(n => n).FirstOrDefault(g => g.Count() > 1) is { } twice)
            throw new ArgumentException($"--reward {twice.Key} is given twice; name each reward once.");
        if (names.Contains("cosine_length") && !names.Contains("math"))
            throw new ArgumentException("--reward cosine_length scales by the math reward's verdict; add --reward math.");
        Functions = names.Select(name => Create(name, maxCompletionLength)).ToList();
    }

    IRewardFunction Create(string name, int maxCompletionLength) => name switch
    {
        "math" => new MathAnswerReward(name: "math"),
        "code" => new CodeExecutionReward(CodeVerifier, "code"),
        "code_compiles" => new CodeCompilesReward(CodeVerifier),
        "think_format" => new ThinkFormatReward(),
        "strict_format" => new StrictThinkAnswerFormatReward(),
        "tag_count" => new TagCountReward(),
        "reasoning_steps" => new ReasoningStepsReward(),
        "repetition_penalty" => new RepetitionPenaltyReward(),
        "cosine_length" => new CosineLengthReward(new CosineLengthRewardOptions { CorrectnessReward = "math", MaxLength = maxCompletionLength }),
        "soft_overlong" => new SoftOverlongPunishment(new SoftOverlongPunishmentOptions { MaxCompletionLength = maxCompletionLength, CacheLength = maxCompletionLength / 5 }),
        _ => throw new ArgumentException($"Unknown --reward '{name}'; choose from {string.Join(", ", Names)}."),
    };

    CodeVerifier CodeVerifier => _codeVerifier ??= new CodeVerifier();

    /// <summary>
    /// Throws naming the first row that lacks a field its rewards need (math: an "answer" with a readable final
    /// answer; code: "test" or "tests"), so a bad dataset stops the run before the model loads.
    /// </summary>
    public static void CheckRows(IReadOnlyList<Problem> rows, IReadOnlyList<string> names, string dataPath)
    {
        for (int i = 0; i < rows.Count; i++)
        {
            var fields = rows[i].Fields;
            string where = $"{dataPath} row {i + 1}";
            if (names.Contains("math"))
            {
                // Read the gold exactly as the reward does, so a row accepted here is a row the reward can score.
                var answer = new RewardInput("", "", [], fields).Field("answer");
                if (string.IsNullOrWhiteSpace(answer))
                    throw new InvalidDataException($"{where} has no \"answer\"; the math reward needs one on every row (GSM8K '... #### 72', a \\boxed{{}} answer, or a bare value).");
                if (!MathVerifier.Verify(answer, "").GoldParsed)
                    throw new InvalidDataException($"{where}: no final answer can be read from \"answer\" ({Shorten(answer)}); end it with '#### value' or \\boxed{{value}}.");
            }
            if ((names.Contains("code") || names.Contains("code_compiles")) && !fields.ContainsKey("test") && !fields.ContainsKey("tests"))
                throw new InvalidDataException($"{where} has neither \"test\" (MBXP, with \"prompt\") nor \"tests\" (C# statements); the code reward needs one.");
        }
    }

    static string Shorten(string text) => text.Length <= 60 ? text : text[..57] + "...";

    public void Dispose() => _codeVerifier?.Dispose();
}
