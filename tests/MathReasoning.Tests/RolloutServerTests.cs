using Grpo.Samples.MathReasoning;
using Grpo.Tests.Sampling.Server;

namespace MathReasoning.Tests;

/// <summary>The sample with <c>--rollout-server</c>: it trains on a fake server's completions, and refuses full fine-tuning with one.</summary>
public sealed class RolloutServerTests : IDisposable
{
    readonly SampleRunFolder _run = new();

    public void Dispose() => _run.Dispose();

    TrainSettings Short(Uri server, int loraRank) =>
        _run.Short("run") with { GroupSize = 3, EvalCount = 2, LoraRank = loraRank, RolloutServers = [server.ToString()], RolloutApiKey = "k" };

    [Fact]
    public async Task A_run_with_a_rollout_server_samples_there_and_publishes_the_adapter()
    {
        await using var server = await FakeRolloutServer.StartAsync();

        Assert.Equal(0, await TrainCommand.RunAsync(Short(server.Url, loraRank: 4), CancellationToken.None));

        // Evaluation before training and step 1 use the base model; step 2 and the evaluations after steps 1 and 2 the adapter.
        var models = server.CompletionRequests.Select(r => r["model"]!.GetValue<string>()).Distinct().ToList();
        Assert.Equal(["base-model", "math-step-1", "math-step-2"], models);
        Assert.Equal(["math-step-2"], server.Loaded.Keys);
        Assert.All(server.Requests, r => Assert.Equal("Bearer k", r.Authorization));
    }

    [Fact]
    public async Task Full_fine_tuning_with_a_rollout_server_is_refused_before_anything_is_written()
    {
        Assert.Equal(1, await TrainCommand.RunAsync(Short(new Uri("http://127.0.0.1:1"), loraRank: 0), CancellationToken.None));
        Assert.False(Directory.Exists(_run.PathOf("run")));
    }
}
