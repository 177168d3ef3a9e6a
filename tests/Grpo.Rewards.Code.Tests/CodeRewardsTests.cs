using System.Text.Json;

namespace Grpo.Rewards.Code.Tests;

/// <summary>The two IRewardFunction implementations, through the trainer's RewardRunner, on rows of both layouts.</summary>
[Collection(VerifierCollection.Name)]
public sealed class CodeRewardsTests(VerifierFixture fixture)
{
    static RewardInput Row(string completion, object fields) =>
        new("", completion, [], JsonSerializer.SerializeToElement(fields).EnumerateObject().ToDictionary(p => p.Name, p => p.Value));

    [Fact]
    public async Task Rewards_score_each_layout_and_leave_other_rows_not_applicable()
    {
        var problem = MbxpProblem.Get("MBCSP/6");
        RewardInput[] inputs =
        [
            Row(problem.CanonicalSolution!, new { prompt = problem.Prompt, test = problem.Test }),
            Row("\n return a == b; }", new { prompt = problem.Prompt, test = problem.Test }),          // compiles, wrong
            Row("\n return a = b; }", new { prompt = problem.Prompt, test = problem.Test }),           // does not compile
            Row("public static class M { public static int Twice(int x) => x + x; }",
                new { tests = new[] { "Debug.Assert(Twice(2) == 4);", "Debug.Assert(Twice(3) == 7);" } }),
            Row("", new { prompt = problem.Prompt, test = problem.Test }),                           // empty completion
            Row("return 1;", new { answer = "42" }),                                                  // not a code row
        ];
        var runner = new RewardRunner([new CodeExecutionReward(fixture.Checked), new CodeCompilesReward(fixture.Checked, bonus: 0.25)]);

        var scores = await runner.ScoreAsync(inputs);

        Assert.Empty(scores.Failures);
        Assert.Equal([1.0, 0.0, 0.0, 0.5, 0.0, double.NaN], scores["code"]);
        Assert.Equal([0.25, 0.25, 0.0, 0.25, 0.0, double.NaN], scores["code_compiles"]);
    }

    [Fact]
    public async Task Reasons_are_available_from_the_verifier()
    {
        var problem = MbxpProblem.Get("MBCSP/6");
        var empty = await fixture.Checked.VerifyAsync(Row("  ", new { prompt = problem.Prompt, test = problem.Test }));
        Assert.Equal("empty completion", empty!.Reason);

        using var fencedOnly = new CodeVerifier(new CodeVerifierOptions { Extraction = CodeExtraction.RequireFenced });
        var unfenced = await fencedOnly.VerifyMbxpAsync(problem.Prompt, problem.CanonicalSolution!, problem.Test);
        Assert.Equal((0.0, "no code block"), (unfenced.Score, unfenced.Reason));
    }
}
