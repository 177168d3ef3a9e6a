using System.Text.Json;

namespace Grpo.Rewards.Shaping.Tests;

/// <summary>
/// Compares the text rewards with the original Python definitions run by Python's own regex engine on 600
/// generated edge cases (tags, partial tags, CRLF, unicode, step markers). Regenerate with Reference/make_reference.py.
/// </summary>
public class ReferenceVerdictTests
{
    public static TheoryData<string> Rewards => ["think_format", "format", "tag_count", "reasoning_steps"];

    static RewardFunction Create(string name) => name switch
    {
        "think_format" => new ThinkFormatReward(),
        "format" => new StrictThinkAnswerFormatReward(),
        "tag_count" => new TagCountReward(),
        "reasoning_steps" => new ReasoningStepsReward(),
        _ => throw new ArgumentOutOfRangeException(nameof(name), name, null),
    };

    [Theory]
    [MemberData(nameof(Rewards))]
    public void Agrees_with_python_on_every_case(string name)
    {
        var reward = Create(name);
        Assert.Equal(name, reward.Name);
        var lines = File.ReadAllLines(Path.Combine(AppContext.BaseDirectory, "Reference", "reference.jsonl"));
        Assert.Equal(600, lines.Length);
        var disagreements = new List<string>();
        foreach (var line in lines)
        {
            using var row = JsonDocument.Parse(line);
            var text = row.RootElement.GetProperty("text").GetString()!;
            double expected = row.RootElement.GetProperty(name).GetDouble();
            double actual = reward.Score(Inputs.Text(text));
            if (Math.Abs(expected - actual) > 1e-12)
                disagreements.Add($"{JsonSerializer.Serialize(text)}: python {expected}, ours {actual}");
        }
        Assert.True(disagreements.Count == 0, string.Join("\n", disagreements));
    }
}
