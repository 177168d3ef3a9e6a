using System.Text.RegularExpressions;

namespace Grpo.Rewards.Shaping;

/// <summary>
/// 1 when the completion is <c>&lt;think&gt;\n…\n&lt;/think&gt;\n&lt;answer&gt;\n…\n&lt;/answer&gt;</c>; else 0.
/// The strict R1 template, for recipes whose answer extraction reads the <c>&lt;answer&gt;</c> block.
/// </summary>
/// <remarks>
/// <para>Follows open-r1's <c>format_reward</c> (src/open_r1/rewards.py): <c>re.match</c> of
/// <c>^&lt;think&gt;\n.*?\n&lt;/think&gt;\n&lt;answer&gt;\n.*?\n&lt;/answer&gt;$</c> with DOTALL | MULTILINE, with the
/// same verdicts, including that source's quirks: under MULTILINE, <c>$</c> also matches before any newline, so
/// text is allowed after <c>\n&lt;/answer&gt;</c> when it starts on a new line; and the lazy <c>.*?</c> may span
/// extra tags, so nested or repeated tags inside the blocks still match. <see cref="TagCountReward"/> is the
/// reward that penalises repeated tags. No options.</para>
/// <para>Runs on the non-backtracking regex engine (linear time). <c>\A</c> replaces <c>^</c> because .NET's
/// <c>^</c> under Multiline also matches after each newline, while <c>re.match</c> only tries position 0.</para>
/// </remarks>
public sealed class StrictThinkAnswerFormatReward : RewardFunction
{
    static readonly Regex Pattern = new(@"\A<think>\n.*?\n</think>\n<answer>\n.*?\n</answer>$",
        RegexOptions.Singleline | RegexOptions.Multiline | RegexOptions.NonBacktracking);

    /// <inheritdoc/>
    public override string Name => "format";

    /// <inheritdoc/>
    public override double Score(RewardInput input) => Pattern.IsMatch(input.Completion) ? 1 : 0;
}
