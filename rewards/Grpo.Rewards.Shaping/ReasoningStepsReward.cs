using System.Text.RegularExpressions;

namespace Grpo.Rewards.Shaping;

/// <summary>
/// min(1, count / 3), where count is the number of step markers ("Step 2:", bullets, "First,", …): rewards
/// reasoning laid out in explicit steps, saturating at three.
/// </summary>
/// <remarks>
/// <para>Follows open-r1's <c>reasoning_steps_reward</c> (src/open_r1/rewards.py): count =
/// <c>len(re.findall(r"(Step \d+:|^\d+\.|\n-|\n\*|First,|Second,|Next,|Finally,)", text))</c>, no flags. The same
/// pattern runs here on the non-backtracking engine (linear time) with the same semantics, including the source's:
/// without MULTILINE, <c>^\d+\.</c> counts a numbered line only at the very start of the text (later numbered lines
/// do not count); bullets count as a newline followed by <c>-</c> or <c>*</c>, so a bullet on the first line does not;
/// markers are case-sensitive. <c>\d</c> is any Unicode decimal digit in both engines ("Step ٣:" counts), except
/// that Python also accepts the rare digits outside the Basic Multilingual Plane and .NET does not. No options.</para>
/// </remarks>
public sealed class ReasoningStepsReward : RewardFunction
{
    static readonly Regex Pattern = new(@"Step \d+:|^\d+\.|\n-|\n\*|First,|Second,|Next,|Finally,",
        RegexOptions.NonBacktracking);

    /// <inheritdoc/>
    public override string Name => "reasoning_steps";

    /// <inheritdoc/>
    public override double Score(RewardInput input) => Math.Min(1.0, Pattern.Count(input.Completion) / 3.0);
}
