namespace Grpo.Rewards.Shaping;

/// <summary>
/// 0.25 for each of <c>&lt;think&gt;\n</c>, <c>\n&lt;/think&gt;\n</c>, <c>\n&lt;answer&gt;\n</c> and <c>\n&lt;/answer&gt;</c>
/// that occurs exactly once: partial credit on the way to <see cref="StrictThinkAnswerFormatReward"/>'s template.
/// </summary>
/// <remarks>
/// Follows open-r1's <c>tag_count_reward</c> (src/open_r1/rewards.py): 0.25 per tag with <c>text.count(tag) == 1</c>.
/// Python's <c>str.count</c> counts non-overlapping occurrences, and so does this class: in
/// <c>"\n&lt;/think&gt;\n&lt;/think&gt;\n"</c> the two <c>\n&lt;/think&gt;\n</c> share a newline, which counts once.
/// Ordinal, case-sensitive, linear time. No options.
/// </remarks>
public sealed class TagCountReward : RewardFunction
{
    static readonly string[] Tags = ["<think>\n", "\n</think>\n", "\n<answer>\n", "\n</answer>"];

    /// <inheritdoc/>
    public override string Name => "tag_count";

    /// <inheritdoc/>
    public override double Score(RewardInput input)
    {
        double score = 0;
        foreach (var tag in Tags)
            if (OccursOnce(input.Completion, tag)) score += 0.25;
        return score;
    }

    static bool OccursOnce(ReadOnlySpan<char> text, string tag)
    {
        int first = text.IndexOf(tag, StringComparison.Ordinal);
        // The second search starts after the whole first occurrence: non-overlapping, as str.count.
        return first >= 0 && text[(first + tag.Length)..].IndexOf(tag, StringComparison.Ordinal) < 0;
    }
}
