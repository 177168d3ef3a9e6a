using Grpo.Rewards;

namespace Grpo.Rewards.Tests;

/// <summary>No reward can crash or stall the caller; dependencies see their inputs' scores.</summary>
public class RewardRunnerTests
{
    static readonly RewardInput[] Batch =
    [
        RewardInput.FromText("2+2?", "4", new Dictionary<string, string> { ["answer"] = "4" }),
        RewardInput.FromText("2+3?", "6", new Dictionary<string, string> { ["answer"] = "5" }),
        RewardInput.FromText("?", "x", new Dictionary<string, string>()),
    ];

    sealed class Exact : RewardFunction
    {
        public override string Name => "exact";
        public override double Score(RewardInput input) => input.Field("answer") is { } gold ? (gold == input.Completion ? 1 : 0) : double.NaN;
    }

    sealed class Lambda(string name, Func<IReadOnlyList<RewardInput>, CancellationToken, Task<double[]>> score, params string[] dependsOn) : IRewardFunction
    {
        public string Name => name;
        public IReadOnlyList<string> DependsOn => dependsOn;
        public Task<double[]> ScoreAsync(IReadOnlyList<RewardInput> inputs, CancellationToken cancellationToken) => score(inputs, cancellationToken);
    }

    [Fact]
    public async Task ScoresEveryCompletionWithEveryRewardInColumnOrder()
    {
        var lengths = new Lambda("length", (inputs, _) => Task.FromResult(inputs.Select(i => (double)i.Completion.Length).ToArray()));
        var scores = await new RewardRunner([new Exact(), lengths]).ScoreAsync(Batch);

        Assert.Equal(["exact", "length"], scores.Names);
        Assert.Equal([1.0, 0.0, double.NaN], scores["exact"]);
        Assert.Equal([1.0, 1.0, 1.0], scores["length"]);
        Assert.Empty(scores.Failures);
    }

    [Fact]
    public async Task AThrowingRewardIsRecordedAsNaNAndTheOthersStillScore()
    {
        var boom = new Lambda("boom", (_, _) => throw new InvalidOperationException("verifier bug"));
        var scores = await new RewardRunner([boom, new Exact()]).ScoreAsync(Batch);

        Assert.All(scores["boom"], s => Assert.True(double.IsNaN(s)));
        Assert.Equal([1.0, 0.0, double.NaN], scores["exact"]);
        var failure = Assert.Single(scores.Failures);
        Assert.Equal(("boom", RewardFailureKind.Exception), (failure.Reward, failure.Kind));
        Assert.Contains("verifier bug", failure.Message);
    }

    [Fact]
    public async Task ARewardThatHangsAndIgnoresCancellationTimesOut()
    {
        var hang = new Lambda("hang", (_, _) => { Thread.Sleep(Timeout.Infinite); return Task.FromResult(Array.Empty<double>()); });
        var watch = System.Diagnostics.Stopwatch.StartNew();
        // 5 s, not less: the well-behaved reward beside the hanging one must finish inside the same timeout, and on a
        // loaded 2-core machine starting its thread and compiling it once took over a second.
        var scores = await new RewardRunner([hang, new Exact()], TimeSpan.FromSeconds(5)).ScoreAsync(Batch);

        Assert.True(watch.Elapsed < TimeSpan.FromSeconds(30), "the runner must stop waiting at the timeout");
        Assert.All(scores["hang"], s => Assert.True(double.IsNaN(s)));
        Assert.Equal(RewardFailureKind.Timeout, Assert.Single(scores.Failures).Kind);
        Assert.Equal([1.0, 0.0, double.NaN], scores["exact"]);
    }

    [Fact]
    public async Task ACooperativeRewardSeesItsTokenCancelledAtTheTimeout()
    {
        var sawCancel = new TaskCompletionSource<bool>();
        var slow = new Lambda("slow", async (_, token) =>
        {
            try { await Task.Delay(Timeout.Infinite, token); }
            catch (OperationCanceledException) { sawCancel.SetResult(true); throw; }
            return [];
        });
        var scores = await new RewardRunner([slow], TimeSpan.FromMilliseconds(100)).ScoreAsync(Batch);

        Assert.True(await sawCancel.Task.WaitAsync(TimeSpan.FromSeconds(30)));
        Assert.Equal(RewardFailureKind.Timeout, Assert.Single(scores.Failures).Kind);
    }

    [Fact]
    public async Task AWrongCountOrNullIsRecordedAsNaN()
    {
        var short1 = new Lambda("short", (_, _) => Task.FromResult(new[] { 1.0 }));
        var none = new Lambda("none", (_, _) => Task.FromResult<double[]>(null!));
        var scores = await new RewardRunner([short1, none]).ScoreAsync(Batch);

        Assert.All(scores.ByReward.SelectMany(s => s), s => Assert.True(double.IsNaN(s)));
        Assert.Equal([RewardFailureKind.WrongCount, RewardFailureKind.WrongCount], scores.Failures.Select(f => f.Kind));
        Assert.Contains("returned 1 scores for 3 completions", scores.Failures[0].Message);
    }

    [Fact]
    public async Task InfiniteScoresBecomeNaNAndFiniteOnesAreKept()
    {
        var inf = new Lambda("inf", (_, _) => Task.FromResult(new[] { 0.5, double.PositiveInfinity, double.NegativeInfinity }));
        var scores = await new RewardRunner([inf]).ScoreAsync(Batch);

        Assert.Equal([0.5, double.NaN, double.NaN], scores["inf"]);
        Assert.Equal(RewardFailureKind.NonFinite, Assert.Single(scores.Failures).Kind);
    }

    [Fact]
    public async Task ADependentRewardRunsAfterItsDependencyAndReadsItsScores()
    {
        var doubled = new Lambda("doubled", (inputs, _) => Task.FromResult(inputs.Select(i => 2 * i.PriorScores["exact"]).ToArray()), "exact");
        // Listed before its dependency on purpose: column order follows the list, run order follows dependencies.
        var scores = await new RewardRunner([doubled, new Exact()]).ScoreAsync(Batch);

        Assert.Equal(["doubled", "exact"], scores.Names);
        Assert.Equal([2.0, 0.0, double.NaN], scores["doubled"]);
    }

    [Fact]
    public async Task IndependentRewardsRunConcurrently()
    {
        // Each waits for the other to start: only concurrent calls can finish.
        var a = new TaskCompletionSource(); var b = new TaskCompletionSource();
        var first = new Lambda("a", async (inputs, t) => { a.SetResult(); await b.Task.WaitAsync(t); return new double[inputs.Count]; });
        var second = new Lambda("b", async (inputs, t) => { b.SetResult(); await a.Task.WaitAsync(t); return new double[inputs.Count]; });
        var scores = await new RewardRunner([first, second], TimeSpan.FromSeconds(20)).ScoreAsync(Batch);

        Assert.Empty(scores.Failures);
    }

    [Fact]
    public async Task CancellationByTheCallerIsThrownNotRecorded()
    {
        var slow = new Lambda("slow", async (_, t) => { await Task.Delay(Timeout.Infinite, t); return []; });
        using var cts = new CancellationTokenSource(TimeSpan.FromMilliseconds(50));
        await Assert.ThrowsAnyAsync<OperationCanceledException>(() => new RewardRunner([slow]).ScoreAsync(Batch, cts.Token));
    }

    [Fact]
    public void BadConfigurationsAreRejectedUpFront()
    {
        Assert.Contains("at least one", Assert.Throws<ArgumentException>(() => new RewardRunner([])).Message);
        Assert.Contains("Two rewards are named 'exact'", Assert.Throws<ArgumentException>(() => new RewardRunner([new Exact(), new Exact()])).Message);
        var orphan = new Lambda("orphan", (i, _) => Task.FromResult(new double[i.Count]), "missing");
        Assert.Contains("depends on 'missing'", Assert.Throws<ArgumentException>(() => new RewardRunner([orphan])).Message);
        var x = new Lambda("x", (i, _) => Task.FromResult(new double[i.Count]), "y");
        var y = new Lambda("y", (i, _) => Task.FromResult(new double[i.Count]), "x");
        Assert.Contains("cycle", Assert.Throws<ArgumentException>(() => new RewardRunner([x, y])).Message);
        Assert.Throws<ArgumentOutOfRangeException>(() => new RewardRunner([new Exact()], TimeSpan.Zero));
    }

    [Fact]
    public void RowFieldsReadAsText()
    {
        var input = new RewardInput("p", "c", [], new Dictionary<string, System.Text.Json.JsonElement>
        {
            ["answer"] = System.Text.Json.JsonDocument.Parse("\"72\"").RootElement,
            ["n"] = System.Text.Json.JsonDocument.Parse("72").RootElement,
            ["tests"] = System.Text.Json.JsonDocument.Parse("[\"a\", \"b\"]").RootElement,
            ["none"] = System.Text.Json.JsonDocument.Parse("null").RootElement,
        });
        Assert.Equal("72", input.Field("answer"));
        Assert.Equal("72", input.Field("n"));
        Assert.Equal("[\"a\", \"b\"]", input.Field("tests"));
        Assert.Null(input.Field("none"));
        Assert.Null(input.Field("absent"));
    }
}
