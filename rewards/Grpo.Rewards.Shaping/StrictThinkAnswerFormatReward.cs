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
/// <para>Implemented by ordinal scanning, linear in the length: a backtracking regex takes time quadratic in the
/// number of <c>\n&lt;/think&gt;\n&lt;answer&gt;\n</c> markers when the answer never closes, and the non-backtracking
/// engine is tens of times slower than this scan on a 100,000-character completion.</para>
/// </remarks>
public sealed class StrictThinkAnswerFormatReward : RewardFunction
{
    const string Open = "<think>\n";
    const string Middle = "\n</think>\n<answer>\n";
    const string End = "\n</answer>";

    /// <inheritdoc/>
    public override string Name => "format";

    /// <inheritdoc/>
    public override double Score(RewardInput input)
    {
        var text = input.Completion.AsSpan();
        if (!text.StartsWith(Open, StringComparison.Ordinal)) return 0;
        // The first middle marker leaves the longest tail in which to find the end, so no later one can do better.
        int middle = text[Open.Length..].IndexOf(Middle, StringComparison.Ordinal);
        if (middle < 0) return 0;
        var answer = text[(Open.Length + middle + Middle.Length)..];
        for (int from = 0; ;)
        {
            int end = answer[from..].IndexOf(End, StringComparison.Ordinal);
            if (end < 0) return 0;
            int after = from + end + End.Length;
            if (after == answer.Length || answer[after] == '\n') return 1; // MULTILINE $: end of text or of a line
            from += end + 1;
        }
    }
}
