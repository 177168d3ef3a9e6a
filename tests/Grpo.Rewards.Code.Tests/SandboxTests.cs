namespace Grpo.Rewards.Code.Tests;

/// <summary>
/// Hostile programs, run with the API check off so that they really execute in a worker: each costs only its own
/// score, and the next program (a reference solution) still scores 1.
/// </summary>
[Collection(VerifierCollection.Name)]
public sealed class SandboxTests(VerifierFixture fixture)
{
    // MBCSP/3's prompt ends inside "public static bool IsNotPrime (int n) {"; each body below completes it.
    public static TheoryData<string, string, string> HostileBodies => new()
    {
        { "infinite loop", "while (true) { } }", "timed out" },
        { "stack overflow", "return !IsNotPrime(n + 1); }", "Stack overflow" },
        { "Environment.Exit(0) before the test runs", "Environment.Exit(0); return false; }", "exit code 0" },
        { "Environment.FailFast", "Environment.FailFast(\"bye\"); return false; }", "ended the worker process" },
        { "allocation bomb", "var hoard = new List<long[]>(); while (true) hoard.Add(new long[1 << 20]); }", "OutOfMemoryException" },
        { "output flood", "while (true) Console.Write(new string('x', 4096)); }", "output limit exceeded" },
        { "output flood that swallows the limit's exception", "try { while (true) Console.WriteLine(\"spam\"); } catch { } return n > 1 && Enumerable.Range(2, n - 2).Any(i => n % i == 0); }", "output limit exceeded" },
        { "static constructor that exits", "return Evil.Flag; } static class Evil { public static bool Flag = Exit(); static bool Exit() { Environment.Exit(0); return true; } }", "exit code 0" },
        { "module initializer that exits", "return false; } [System.Runtime.CompilerServices.ModuleInitializer] internal static void Init() { Environment.Exit(0); }", "exit code 0" },
        { "thrown exception", "throw new InvalidOperationException(\"nope\"); }", "InvalidOperationException: nope" },
    };

    [Theory]
    [MemberData(nameof(HostileBodies))]
    public async Task Hostile_program_scores_zero_and_the_next_program_still_scores(string what, string body, string reason)
    {
        var problem = MbxpProblem.Get("MBCSP/3");
        var hostile = await fixture.Unchecked.VerifyMbxpAsync(problem.Prompt, "\n" + body, problem.Test);
        Assert.True(hostile.Score == 0.0, $"{what}: {hostile.Reason}");
        Assert.Contains(reason, hostile.Reason);

        // A comment makes the program text unique, so the result cannot come from the cache.
        var next = await fixture.Unchecked.VerifyMbxpAsync(problem.Prompt, problem.CanonicalSolution + $" // after {what}", problem.Test);
        Assert.True(next.Score == 1.0, $"after {what}: {next.Reason}");
    }

    [Fact]
    public async Task Program_cannot_write_a_file_even_with_the_api_check_off()
    {
        var problem = MbxpProblem.Get("MBCSP/3");
        var path = Path.Combine(Path.GetTempPath(), "grpo-code-escape-" + Guid.NewGuid().ToString("N"));
        var body = $"System.IO.File.WriteAllText(@\"{path}\", \"escaped\"); return n > 1 && Enumerable.Range(2, n - 2).Any(i => n % i == 0); }}";
        var result = await fixture.Unchecked.VerifyMbxpAsync(problem.Prompt, "\n" + body, problem.Test);
        Assert.Equal(0.0, result.Score);
        Assert.True(!File.Exists(path) || new FileInfo(path).Length == 0, "the worker wrote a file");
        File.Delete(path);
    }

    [Fact]
    public async Task Hostile_programs_in_one_batch_cost_only_themselves()
    {
        var problem = MbxpProblem.Get("MBCSP/4");
        var good = problem.CanonicalSolution!;
        string[] completions =
        [
            good,
            "\n while (true) { } }",
            good + " static int Pad0 = 0;", // a different text, so it is not served from the cache
            "\n Environment.Exit(0); return null; }",
            "\n return HeapQueueLargest(nums, n).ToList(); }",
            good + " static int Pad1 = 1;",
        ];
        var results = await Task.WhenAll(completions.Select(c => fixture.Unchecked.VerifyMbxpAsync(problem.Prompt, c, problem.Test)));
        Assert.Equal([1.0, 0.0, 1.0, 0.0, 0.0, 1.0], results.Select(r => r.Score));
    }
}
