namespace Grpo.Rewards.Shaping.Tests;

/// <summary>
/// 100,000-character completions built to make backtracking regexes explode (an open block followed by many
/// middle markers and no end) get a defined score. The timeout only guards against a hang; speed is in benchmarks/.
/// </summary>
public class LargeCompletionTests
{
    const int Length = 100_000;
    static readonly TimeSpan HangGuard = TimeSpan.FromSeconds(30);

    // "<think>\n" then "\n</think>\n<answer>\n" repeated, padded with 'x' to exactly 100,000 characters.
    static readonly string ManyMiddles = Pad("<think>\n" + string.Concat(Enumerable.Repeat("\n</think>\n<answer>\n", 5_000)));
    static readonly string ManyOpens = Pad(string.Concat(Enumerable.Repeat("<think>", Length / 7)));
    static readonly string ManySteps = Pad(string.Concat(Enumerable.Repeat("Step 1: ", Length / 8)));

    static string Pad(string text) => text.Length > Length ? text[..Length] : text + new string('x', Length - text.Length);

    static readonly int[] Ids = Enumerable.Range(0, 25_000).ToArray(); // ~4 characters a token, all distinct

    public static TheoryData<string, string, double> Cases => new()
    {
        { "think_format", nameof(ManyMiddles), 1.0 },  // one open tag, closes
        { "think_format", nameof(ManyOpens), 0.0 },
        { "format", nameof(ManyMiddles), 0.0 },        // never closes the answer
        { "format", nameof(ManyOpens), 0.0 },
        { "tag_count", nameof(ManyMiddles), 0.25 },    // only "<think>\n" occurs exactly once
        { "tag_count", nameof(ManyOpens), 0.0 },
        { "reasoning_steps", nameof(ManyMiddles), 0.0 },
        { "reasoning_steps", nameof(ManySteps), 1.0 },
        { "soft_overlong_punishment", nameof(ManyMiddles), -0.5 },  // L = 25,000 with L_max 30,000, C 10,000
        { "repetition_penalty", nameof(ManyMiddles), 0.0 },
        { "cosine_length", nameof(ManyMiddles), 0.5 },  // correct, L beyond L_max = 1000
    };

    static IRewardFunction Create(string name) => name switch
    {
        "think_format" => new ThinkFormatReward(),
        "format" => new StrictThinkAnswerFormatReward(),
        "tag_count" => new TagCountReward(),
        "reasoning_steps" => new ReasoningStepsReward(),
        "soft_overlong_punishment" => new SoftOverlongPunishment(new() { MaxCompletionLength = 30_000, CacheLength = 10_000 }),
        "repetition_penalty" => new RepetitionPenaltyReward(),
        "cosine_length" => new CosineLengthReward(),
        _ => throw new ArgumentOutOfRangeException(nameof(name), name, null),
    };

    static string Text(string name) => name switch
    {
        nameof(ManyMiddles) => ManyMiddles,
        nameof(ManyOpens) => ManyOpens,
        nameof(ManySteps) => ManySteps,
        _ => throw new ArgumentOutOfRangeException(nameof(name), name, null),
    };

    [Theory]
    [MemberData(nameof(Cases))]
    public async Task Scores_without_hanging(string reward, string completion, double expected)
    {
        var text = Text(completion);
        Assert.Equal(Length, text.Length);
        var input = new RewardInput("prompt", text, Ids, new Dictionary<string, System.Text.Json.JsonElement>())
        {
            PriorScores = new Dictionary<string, double> { ["math_answer"] = 1.0 },
        };
        var scores = await Create(reward).ScoreAsync([input], CancellationToken.None).WaitAsync(HangGuard);
        Assert.Equal(expected, Assert.Single(scores), 12);
    }
}
