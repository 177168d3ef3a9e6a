using Grpo.Tests.Sampling.Server;

namespace Grpo.Cli.Tests;

/// <summary><c>grpo train --rollout-server</c>: sampling from fake OpenAI-compatible servers on loopback, and its refusals.</summary>
public sealed class TrainRolloutServerTests : IDisposable
{
    readonly TinyRunFolder _folder = new("grpo-cli-rollout-", ["""{"question": "What is 2 + 3?", "answer": "#### 5"}""", """{"question": "What is 4 * 2?", "answer": "#### 8"}"""], dataName: "train.jsonl");

    public void Dispose() => _folder.Dispose();

    string[] Train(params string[] extra) =>
        _folder.Train(["--group-size", "3", "--prompts-per-step", "2", "--max-completion-length", "4", "--steps", "2", .. extra]);

    [Fact]
    public async Task TrainsOnTheServersPublishesTheAdapterAndCarriesOnWithoutADeadReplica()
    {
        await using var server = await FakeRolloutServer.StartAsync();
        var dead = FakeRolloutServer.Unreachable();

        var (exitCode, stdout, error) = await Cli.RunAsync(Train("--rollout-server", dead.ToString(), "--rollout-server", server.Url.ToString(), "--rollout-api-key", "k"));

        Assert.True(exitCode == 0, error);
        Assert.Contains($"sampling from {dead}, {server.Url}; adapter versions in {Path.Combine(_folder.Output, "published-adapters")}", stdout);
        var warning = Assert.Single(error.Split('\n', StringSplitOptions.RemoveEmptyEntries));
        Assert.StartsWith($"grpo train: warning: Rollout server {dead} dropped at step 1", warning);
        // Step 1 sampled the base model, step 2 the adapter published after step 1, named after the run's folder.
        Assert.Equal(["base-model", "base-model", "run-step-1", "run-step-1"], server.CompletionRequests.Select(r => r["model"]!.GetValue<string>()));
        Assert.Equal(Path.Combine(_folder.Output, "published-adapters", "run-step-1"), server.Loaded["run-step-1"]);
        Assert.All(server.Requests, r => Assert.Equal("Bearer k", r.Authorization));
        Assert.True(File.Exists(Path.Combine(_folder.Output, "adapter_model.safetensors")));
    }

    [Fact]
    public async Task WithEveryServerGoneTheRunStopsInOneLine()
    {
        var dead = FakeRolloutServer.Unreachable();

        var (exitCode, _, error) = await Cli.RunAsync(Train("--rollout-server", dead.ToString()));

        Assert.Equal(1, exitCode);
        var lines = error.Split('\n', StringSplitOptions.RemoveEmptyEntries);
        Assert.StartsWith($"grpo train: warning: Rollout server {dead} dropped at step 1", lines[0]);
        Assert.StartsWith("grpo train: No rollout server is left at step 1", lines[1]);
        Assert.Equal(2, lines.Length);
    }

    [Theory]
    [InlineData("--rollout-server http://localhost:8000 --full", "--rollout-server needs a LoRA adapter")]
    [InlineData("--rollout-server localhost:8000", "--rollout-server 'localhost:8000' is not an http(s) URL")]
    [InlineData("--adapter-dir shared", "--adapter-dir applies to rollout servers; give --rollout-server URL too")]
    [InlineData("--rollout-server http://localhost:8000 --publish-steps 0", "--publish-steps must be 1 or more")]
    public async Task BadRolloutServerOptionsAreRefusedWithTheFix(string options, string message)
    {
        var (exitCode, _, error) = await Cli.RunAsync(Train(options.Split(' ')));
        Assert.NotEqual(0, exitCode);
        Assert.Contains(message, error);
        Assert.False(Directory.Exists(_folder.Output));
    }
}
