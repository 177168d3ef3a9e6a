using System.Text.Json;
using BenchmarkDotNet.Attributes;
using Grpo.Rewards;
using Grpo.Rewards.Shaping;

namespace Grpo.Benchmarks;

/// <summary>
/// Each shaping reward on one 100,000-character completion with 25,000 token ids: a well-formed R1 completion,
/// and an adversarial one (an open think block, thousands of middle markers, no end) of the kind that makes
/// backtracking regexes explode.
///   dotnet run -c Release --project benchmarks/Grpo.Benchmarks -- --filter '*ShapingRewardBenchmarks*'
/// </summary>
[ShortRunJob]
[MemoryDiagnoser]
public class ShapingRewardBenchmarks
{
    const int Length = 100_000;

    readonly ThinkFormatReward _thinkFormat = new();
    readonly StrictThinkAnswerFormatReward _format = new();
    readonly TagCountReward _tagCount = new();
    readonly ReasoningStepsReward _reasoningSteps = new();
    readonly SoftOverlongPunishment _overlong = new(new() { MaxCompletionLength = 30_000, CacheLength = 10_000 });
    readonly CosineLengthReward _cosine = new();
    readonly RepetitionPenaltyReward _repetition = new();
    RewardInput _input = null!;

    [Params("well-formed", "adversarial")]
    public string Completion { get; set; } = "";

    [GlobalSetup]
    public void Setup()
    {
        const string Open = "<think>\n", End = "\n</think>\n<answer>\n42\n</answer>";
        var text = Completion == "well-formed"
            ? Open + Repeat("Step 1: add the numbers.\n- carry the one\nNext, check it.\n", Length - Open.Length - End.Length) + End
            : Open + Repeat("\n</think>\n<answer>\n", Length - Open.Length);
        var random = new Random(0);
        var ids = Enumerable.Range(0, 25_000).Select(_ => random.Next(50)).ToArray(); // small vocabulary: many repeats
        _input = new RewardInput("prompt", text, ids, new Dictionary<string, JsonElement>())
        {
            PriorScores = new Dictionary<string, double> { ["math"] = 1.0 },
        };
    }

    static string Repeat(string unit, int length)
    {
        var text = string.Concat(Enumerable.Repeat(unit, length / unit.Length + 1));
        return text[..length];
    }

    [Benchmark] public double ThinkFormat() => _thinkFormat.Score(_input);
    [Benchmark] public double StrictFormat() => _format.Score(_input);
    [Benchmark] public double TagCount() => _tagCount.Score(_input);
    [Benchmark] public double ReasoningSteps() => _reasoningSteps.Score(_input);
    [Benchmark] public double SoftOverlong() => _overlong.Score(_input);
    [Benchmark] public double CosineLength() => _cosine.Score(_input);
    [Benchmark] public double RepetitionPenalty() => _repetition.Score(_input);
}
