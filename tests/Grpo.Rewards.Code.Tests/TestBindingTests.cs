namespace Grpo.Rewards.Code.Tests;

/// <summary>Completions that try to pass by changing what the test calls, rather than by solving the problem.</summary>
[Collection(VerifierCollection.Name)]
public sealed class TestBindingTests(VerifierFixture fixture)
{
    [Theory]
    // A nested CompareLogic that finds everything equal shadows the library's.
    [InlineData("return false; } class CompareLogic { public R Compare(object a, object b) => new R(); } class R { public bool AreEqual => true; }")]
    // The test's Main is commented out, so nothing runs.
    [InlineData("return false; } } } /*")]
    // A Main of its own comes first, and the test's Main moves into another class.
    [InlineData("return false; } public static void Main(string[] args) { } } public class Other {")]
    // A better overload of the method under test that returns the expected answers.
    [InlineData("return false; } public static bool IsNotPrime(long n) => n != 2;")]
    // The test's Exception is replaced by one that never gets thrown... by shadowing System.Exception.
    [InlineData("return false; } class Exception : System.Exception { public Exception(string m) : base(m) { } }")]
    public async Task Completion_that_rewires_the_test_scores_zero(string body)
    {
        var problem = MbxpProblem.Get("MBCSP/3");
        var result = await fixture.Checked.VerifyMbxpAsync(problem.Prompt, "\n" + body, problem.Test);
        Assert.True(result.Score == 0.0, result.Reason);
    }
}
