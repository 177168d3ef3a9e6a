using Grpo.Rewards.Math;

namespace Grpo.Cli;

/// <summary>
/// maj@k: the answer most of k samples give wins, and the problem counts as solved when that answer is right.
/// Answers are read and grouped with the maths verifier, so "0.5", "\frac{1}{2}" and "1/2" are one vote block.
/// </summary>
static class MajorityVote
{
    /// <summary>
    /// The answer with the most votes among <paramref name="completions"/> (final answers read by the verifier;
    /// completions without one do not vote), and its vote count; ties go to the answer seen first. Null when none has an answer.
    /// </summary>
    public static (string Answer, int Votes)? Winner(IEnumerable<string> completions)
    {
        var blocks = new List<(string Answer, int Votes)>();
        foreach (var completion in completions)
        {
            if (MathVerifier.ExtractAnswer(completion) is not { } answer) continue;
            int block = blocks.FindIndex(b => MathVerifier.AreEquivalent(b.Answer, answer));
            if (block < 0) blocks.Add((answer, 1));
            else blocks[block] = (blocks[block].Answer, blocks[block].Votes + 1);
        }
        if (blocks.Count == 0) return null;
        // MaxBy keeps the first of equal maxima, so ties go to the earliest answer.
        return blocks.MaxBy(b => b.Votes);
    }

    /// <summary>Whether the majority answer of <paramref name="completions"/> equals <paramref name="gold"/>.</summary>
    public static bool IsCorrect(string gold, IEnumerable<string> completions) =>
        Winner(completions) is { } winner && MathVerifier.AreEquivalent(gold, winner.Answer);
}
