namespace Grpo.Rewards.Code.Tests;

[Collection(VerifierCollection.Name)]
public sealed class MbxpReferenceTests(VerifierFixture fixture)
{
    public static TheoryData<string> CorrectReferences => new(MbxpProblem.Slice
        .Select(p => p.TaskId).Where(id => id is not ("MBCSP/353" or "MBCSP/940")));

    [Theory]
    [MemberData(nameof(CorrectReferences))]
    public async Task Reference_solution_scores_one(string taskId)
    {
        var problem = MbxpProblem.Get(taskId);
        var result = await fixture.Checked.VerifyMbxpAsync(problem.Prompt, problem.CanonicalSolution!, problem.Test);
        Assert.True(result.Score == 1.0, $"{taskId}: {result.Reason}");
        Assert.Equal("passed", result.Reason);
    }

    [Theory]
    [InlineData("MBCSP/353")]
    [InlineData("MBCSP/940")]
    public async Task Stub_reference_that_returns_its_input_fails(string taskId)
    {
        var problem = MbxpProblem.Get(taskId);
        var result = await fixture.Checked.VerifyMbxpAsync(problem.Prompt, problem.CanonicalSolution!, problem.Test);
        Assert.Equal(0.0, result.Score);
        Assert.True(result.Compiled);
        Assert.Contains("test case 0 failed", result.Reason);
    }

    // Mutants of correct references, each checked by hand to change the answer on the problem's own examples.
    [Theory]
    [InlineData("MBCSP/3", "if (n <= 1)", "if (n >= 1)")]                   // flipped comparison
    [InlineData("MBCSP/5", "A[i] = A[i - 2] + 2 * B[i - 1];", "A[i] = A[i - 2] + 2 * B[i - 1] + 1;")] // off by one
    [InlineData("MBCSP/7", "x.Length >= 4", "x.Length > 4")]                // off by one
    [InlineData("MBCSP/10", "OrderBy(x => x)", "OrderByDescending(x => x)")] // flipped order
    [InlineData("MBCSP/14", "0.5 * (l * b * h)", "0.5 * (l * b * (h + 1))")] // off by one
    public async Task Broken_variant_scores_below_one(string taskId, string find, string replace)
    {
        var problem = MbxpProblem.Get(taskId);
        Assert.Contains(find, problem.CanonicalSolution);
        var broken = problem.CanonicalSolution!.Replace(find, replace);
        var result = await fixture.Checked.VerifyMbxpAsync(problem.Prompt, broken, problem.Test);
        Assert.True(result.Score < 1.0, $"{taskId} mutant passed: {result.Reason}");
        Assert.True(result.Compiled, result.Reason);
    }

    [Fact]
    public async Task Completion_that_does_not_compile_scores_zero_with_the_compiler_error()
    {
        var problem = MbxpProblem.Get("MBCSP/3");
        var result = await fixture.Checked.VerifyMbxpAsync(problem.Prompt, "\n return n % 2 == 0 }", problem.Test);
        Assert.Equal(0.0, result.Score);
        Assert.False(result.Compiled);
        Assert.StartsWith("compile error:", result.Reason);
        Assert.Contains("CS1002", result.Reason); // ; expected
    }

    [Fact]
    public async Task Test_that_does_not_compile_against_the_solution_scores_zero()
    {
        var problem = MbxpProblem.Get("MBCSP/3");
        var result = await fixture.Checked.VerifyMbxpAsync(problem.Prompt.Replace("IsNotPrime (int n)", "IsNotPrime (string n)"),
            "\n return n.Length > 1; }", problem.Test);
        Assert.Equal(0.0, result.Score);
        Assert.StartsWith("compile error:", result.Reason);
        Assert.Contains("CS1503", result.Reason); // cannot convert from int to string
    }

    [Fact]
    public async Task Fenced_answer_is_extracted_from_a_chat_completion()
    {
        var problem = MbxpProblem.Get("MBCSP/8");
        var completion = "Here is a sketch:\n```python\nreturn [x*x for x in nums]\n```\nAnd the answer:\n```csharp\n" + problem.CanonicalSolution + "\n```\nDone.";
        var result = await fixture.Checked.VerifyMbxpAsync(problem.Prompt, completion, problem.Test);
        Assert.Equal(1.0, result.Score);
    }
}
