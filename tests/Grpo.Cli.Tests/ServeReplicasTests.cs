using System.Text.Json;
using Grpo.Lora;
using Grpo.Modeling;
using Grpo.Training;

namespace Grpo.Cli.Tests;

/// <summary>
/// The two halves together: <c>grpo train --rollout-server</c> against two real <c>grpo serve</c> processes on
/// loopback over the same model folder, one replica killed mid-run, then the other.
/// </summary>
public sealed class ServeReplicasTests : IDisposable
{
    readonly string _directory = Directory.CreateTempSubdirectory("grpo-cli-replicas-").FullName;
    readonly HttpClient _client = new();

    public void Dispose()
    {
        _client.Dispose();
        Directory.Delete(_directory, recursive: true);
    }

    /// <summary>Polls until <paramref name="condition"/> holds: waits for the run to get somewhere, asserts nothing about time.</summary>
    static async Task Until(Func<Task<bool>> condition, string what)
    {
        for (int i = 0; i < 3000; i++)
        {
            if (await condition()) return;
            await Task.Delay(100);
        }
        Assert.Fail($"never: {what}");
    }

    async Task<string[]> ModelsOn(string url) =>
        [.. JsonDocument.Parse(await _client.GetStringAsync(url + "/v1/models")).RootElement.GetProperty("data").EnumerateArray().Select(m => m.GetProperty("id").GetString()!)];

    async Task<long> AnsweredBy(string url) =>
        long.Parse((await _client.GetStringAsync(url + "/metrics")).Split('\n').Single(l => l.StartsWith("grpo:request_success_total ", StringComparison.Ordinal)).Split(' ')[1],
            System.Globalization.CultureInfo.InvariantCulture);

    static async Task<string> ListeningUrl(CliProcess serve)
    {
        await serve.WaitForLineAsync("listening on ", seconds: 180);
        return serve.Output.Split('\n').First(l => l.StartsWith("listening on ", StringComparison.Ordinal))["listening on ".Length..];
    }

    [Fact]
    [Trait("Category", "Slow")]
    public async Task TrainingOnTwoServeReplicasSurvivesLosingOneAndStopsCleanlyWithoutBoth()
    {
        var model = TinyModelFolder.Create(Path.Combine(_directory, "model"));
        var data = Path.Combine(_directory, "train.jsonl");
        File.WriteAllLines(data, ["""{"question": "What is 2 + 3?", "answer": "#### 5"}""", """{"question": "What is 4 * 2?", "answer": "#### 8"}"""]);
        var output = Path.Combine(_directory, "run");
        using var first = CliProcess.Start("Grpo.Cli.dll", "serve", "--model", model, "--port", "0", "--adapter-root", _directory);
        using var second = CliProcess.Start("Grpo.Cli.dll", "serve", "--model", model, "--port", "0", "--adapter-root", _directory);
        string firstUrl = await ListeningUrl(first), secondUrl = await ListeningUrl(second);

        // Far more steps than the run will get to: it ends when both replicas are gone.
        var train = Cli.RunAsync(["train", "--model", model, "--data", data, "--output", output, "--group-size", "3", "--prompts-per-step", "2",
            "--max-completion-length", "8", "--steps", "1000", "--save-steps", "1", "--rollout-server", firstUrl, "--rollout-server", secondUrl]);

        // After step 1 the adapter is published to both replicas, and each has answered a step's prompts.
        await Until(async () => (await ModelsOn(firstUrl)).Contains("run-step-1") && (await ModelsOn(secondUrl)).Contains("run-step-1"), "run-step-1 loaded on both replicas");
        Assert.True(await AnsweredBy(firstUrl) > 0, "the first replica answered no request");
        Assert.True(await AnsweredBy(secondUrl) > 0, "the second replica answered no request");
        first.Dispose();   // killed

        // The run carries on with the second replica, which gets every later adapter.
        await Until(async () => (await ModelsOn(secondUrl)).Contains("run-step-3"), "run-step-3 loaded on the remaining replica");
        second.Dispose();  // killed too

        var (exitCode, stdout, error) = await train;
        Assert.Equal(1, exitCode);
        var lines = error.Split('\n', StringSplitOptions.RemoveEmptyEntries);
        Assert.Contains(lines, l => l.StartsWith($"grpo train: warning: Rollout server {new Uri(firstUrl)} dropped at step", StringComparison.Ordinal));
        Assert.StartsWith("grpo train: No rollout server is left at step", lines[^1]);

        // The newest checkpoint is whole and loads; no half-written one is left behind.
        var latest = TrainingCheckpoint.Latest(output);
        Assert.NotNull(latest);
        Assert.Empty(Directory.EnumerateDirectories(output, ".checkpoint-*"));
        using (var reloaded = Checkpoint.Load(model))
            Assert.NotEmpty(LoraModel.Load(reloaded, Path.Combine(latest, TrainingCheckpoint.AdapterFolderName)).Layers);

        // Every step's completions came back with the log-probs the trainer recomputes for them (TRL's
        // sampling_logp_difference: the largest |trainer - server| over the step's tokens).
        var steps = File.ReadAllLines(Path.Combine(output, "metrics.jsonl")).Select(l => JsonDocument.Parse(l).RootElement).ToList();
        Assert.True(steps.Count >= 3, stdout);
        foreach (var step in steps)
            Assert.True(step.GetProperty("sampling/sampling_logp_difference/max").GetDouble() < 1e-4, step.ToString());
    }
}
