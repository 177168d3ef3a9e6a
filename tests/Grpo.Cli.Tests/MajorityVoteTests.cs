namespace Grpo.Cli.Tests;

/// <summary>maj@k on hand-made completions: answers are grouped by mathematical equality, not by spelling.</summary>
public sealed class MajorityVoteTests
{
    [Fact]
    public void EqualAnswersInDifferentFormsVoteTogether()
    {
        string[] completions = ["so \\boxed{3}", "half: \\boxed{\\frac{1}{2}}", "\\boxed{0.5}", "\\boxed{1/2}", "\\boxed{3}"];
        var winner = MajorityVote.Winner(completions);
        Assert.NotNull(winner);
        Assert.Equal(3, winner.Value.Votes);
        Assert.True(MajorityVote.IsCorrect("#### 0.5", completions));
        Assert.False(MajorityVote.IsCorrect("#### 3", completions));
    }

    [Fact]
    public void ATieGoesToTheAnswerSeenFirstAndCompletionsWithoutAnAnswerDoNotVote()
    {
        string[] completions = ["", "\\boxed{4}", "\\boxed{7}", "  ", "\\boxed{7}", "\\boxed{4}"];
        Assert.Equal(2, MajorityVote.Winner(completions)!.Value.Votes);
        Assert.True(MajorityVote.IsCorrect("4", completions));
        Assert.False(MajorityVote.IsCorrect("7", completions));
    }

    [Fact]
    public void NoAnswerAtAllIsNoWinnerAndNotCorrect()
    {
        Assert.Null(MajorityVote.Winner(["", " \n "]));
        Assert.False(MajorityVote.IsCorrect("1", ["", " \n "]));
    }
}
