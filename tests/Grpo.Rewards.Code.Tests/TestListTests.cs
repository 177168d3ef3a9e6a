namespace Grpo.Rewards.Code.Tests;

/// <summary>The list layout: a whole program and test statements, scored as the fraction that pass.</summary>
[Collection(VerifierCollection.Name)]
public sealed class TestListTests(VerifierFixture fixture)
{
    const string Solution = """
        namespace Maths
        {
            public static class Calculator
            {
                // Wrong for negative a: adds one too many.
                public static int Add(int a, int b) => a < 0 ? a + b + 1 : a + b;
            }
        }
        """;

    [Fact]
    public async Task Score_is_the_fraction_of_tests_that_pass()
    {
        string[] tests =
        [
            "Debug.Assert(Add(1, 2) == 3);",
            "if (Add(2, 2) != 4) throw new Exception(\"2 + 2\");",
            "Debug.Assert(Add(-1, 1) == 0, \"-1 + 1\")",      // fails; no semicolon on purpose
            "Debug.Assert(Calculator.Add(0, 0) == 0);",
        ];
        var result = await fixture.Checked.VerifyTestsAsync(Solution, tests);
        Assert.Equal(0.75, result.Score);
        Assert.Equal(3, result.Passed);
        Assert.Equal(4, result.Total);
        Assert.Contains("test 2 failed", result.Reason);
        Assert.Contains("-1 + 1", result.Reason);
    }

    [Fact]
    public async Task A_test_that_crashes_the_worker_fails_alone()
    {
        const string code = """
            public static class Rec
            {
                public static int Down(int n) => n == 0 ? 0 : 1 + Down(n - 1);
            }
            """;
        string[] tests = ["Debug.Assert(Down(3) == 3);", "Debug.Assert(Down(-1) == -1);", "Debug.Assert(Down(10) == 10);"];
        var result = await fixture.Checked.VerifyTestsAsync(code, tests);
        Assert.True(Math.Abs(result.Score - 2.0 / 3) < 1e-12, result.Reason);
        Assert.Contains("Stack overflow", result.Reason);
    }

    [Fact]
    public async Task A_test_that_hangs_fails_with_the_rest_of_the_budget()
    {
        const string code = "public static class Loop { public static int Spin(int n) { while (n > 0) { } return n; } }";
        string[] tests = ["Debug.Assert(Spin(0) == 0);", "Debug.Assert(Spin(1) == 0);", "Debug.Assert(Spin(0) == 0);"];
        var result = await fixture.Checked.VerifyTestsAsync(code, tests);
        Assert.True(Math.Abs(result.Score - 1.0 / 3) < 1e-12, result.Reason);
        Assert.Contains("timed out", result.Reason);
    }

    [Fact]
    public async Task Completion_cannot_replace_debug_assert_or_equality()
    {
        const string fakeAssert = """
            public static class Debug { public static void Assert(bool condition) { } }
            public static class Calc { public static int Add(int a, int b) => 0; }
            """;
        var hijacked = await fixture.Checked.VerifyTestsAsync(fakeAssert, ["Debug.Assert(Add(1, 2) == 3);"]);
        Assert.Equal(0.0, hijacked.Score);

        const string fakeEquality = """
            namespace S
            {
                public sealed class Num { public static bool operator ==(Num a, int b) => true; public static bool operator !=(Num a, int b) => false; }
                public static class Calc { public static Num Add(int a, int b) => new Num(); }
            }
            """;
        var rewired = await fixture.Checked.VerifyTestsAsync(fakeEquality, ["Debug.Assert(Add(1, 2) == 3);"]);
        Assert.Equal(0.0, rewired.Score);
        Assert.Contains("rejected", rewired.Reason);
    }
}
