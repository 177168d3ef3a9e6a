namespace Grpo.Rewards.Shaping;

/// <summary>
/// 1 when the completion opens with a single <c>&lt;think&gt;</c> block that is closed, whatever follows; else 0.
/// Teaches the R1 shape "reasoning, then answer" without constraining the answer.
/// </summary>
/// <remarks>
/// Follows TRL's <c>think_format_reward</c> (trl/rewards/format_rewards.py): <c>re.match</c> of
/// <c>^&lt;think&gt;(?!.*&lt;think&gt;)(.*?)&lt;/think&gt;.*$</c> with DOTALL | MULTILINE. Read literally, that pattern says:
/// the text starts with <c>&lt;think&gt;</c>, no second <c>&lt;think&gt;</c> occurs anywhere after it, and a
/// <c>&lt;/think&gt;</c> occurs after it. This class checks exactly those three facts by ordinal scanning, because
/// the non-backtracking regex engine has no lookahead; it is linear in the length and cannot backtrack. No options.
/// </remarks>
public sealed class ThinkFormatReward : RewardFunction
{
    const string Open = "<think>";
    const string Close = "</think>";

    /// <inheritdoc/>
    public override string Name => "think_format";

    /// <inheritdoc/>
    public override double Score(RewardInput input)
    {
        var text = input.Completion.AsSpan();
        if (!text.StartsWith(Open, StringComparison.Ordinal)) return 0;
        var rest = text[Open.Length..];
        return rest.IndexOf(Open, StringComparison.Ordinal) < 0 && rest.IndexOf(Close, StringComparison.Ordinal) >= 0 ? 1 : 0;
    }
}
