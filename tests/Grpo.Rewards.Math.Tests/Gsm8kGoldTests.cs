using System.Globalization;
using System.IO.Compression;
using System.Text.Json;

namespace Grpo.Rewards.Math.Tests;

/// <summary>
/// Real GSM8K gold solutions (213 rows of the test split, MIT licence, OpenAI; every row whose answer has a
/// thousands separator included). The expected final number is read from the text here, independently of the
/// verifier: the digits after "####" with commas removed.
/// </summary>
public class Gsm8kGoldTests
{
    static IEnumerable<(string Solution, long Final)> Rows()
    {
        var path = Path.Combine(AppContext.BaseDirectory, "Data", "gsm8k-test-slice.jsonl.gz");
        using var reader = new StreamReader(new GZipStream(File.OpenRead(path), CompressionMode.Decompress));
        while (reader.ReadLine() is { } line)
        {
            using var doc = JsonDocument.Parse(line);
            var solution = doc.RootElement.GetProperty("answer").GetString()!;
            var final = solution[(solution.LastIndexOf("####", StringComparison.Ordinal) + 4)..].Trim().Replace(",", "");
            yield return (solution, long.Parse(final, CultureInfo.InvariantCulture));
        }
    }

    [Fact]
    public void ReadsEveryGoldAsItsFinalNumber()
    {
        var rows = Rows().ToList();
        Assert.Equal(213, rows.Count);
        foreach (var (solution, final) in rows)
            Assert.Equal(final.ToString(CultureInfo.InvariantCulture), MathVerifier.ExtractAnswer(solution));
    }

    [Fact]
    public void ScoresRightWrongAndFormattedAnswers()
    {
        var reward = new MathAnswerReward();
        foreach (var (solution, final) in Rows())
        {
            string Score(string completion) =>
                reward.Score(RewardInput.FromText("q", completion, new Dictionary<string, string> { ["answer"] = solution })).ToString(CultureInfo.InvariantCulture);
            var formatted = final.ToString("N0", CultureInfo.InvariantCulture);   // 2,125
            Assert.Equal("1", Score($"Let me work it out step by step. The answer is {final}."));
            Assert.Equal("1", Score($"So the total is $\\boxed{{{formatted}}}$ dollars."));
            Assert.Equal("1", Score(solution));
            Assert.Equal("0", Score($"The answer is {final + 1}."));
            Assert.Equal("0", Score("I cannot solve this."));
        }
    }
}
