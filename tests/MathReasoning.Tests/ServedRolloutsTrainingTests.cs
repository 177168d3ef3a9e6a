using Grpo.Cli.Tests;
using Grpo.Samples.MathReasoning;

namespace MathReasoning.Tests;

/// <summary>
/// Issue 17's end-to-end claim: the sample, sampling from two real <c>grpo serve</c> replicas on loopback over its
/// built-in model (adapter versions hot-loaded into both after every step), learns as the in-process run does.
/// </summary>
[Trait("Category", "Slow")]
public sealed class ServedRolloutsTrainingTests : IDisposable
{
    readonly string _root = Directory.CreateTempSubdirectory("mr-replicas-").FullName;

    public void Dispose() => Directory.Delete(_root, recursive: true);

    static async Task<string> ListeningUrl(CliProcess serve)
    {
        await serve.WaitForLineAsync("listening on ", seconds: 180);
        return serve.Output.Split('\n').First(l => l.StartsWith("listening on ", StringComparison.Ordinal))["listening on ".Length..];
    }

    [Fact]
    public async Task Thirty_default_steps_sampled_from_two_grpo_serve_replicas_raise_held_out_greedy_accuracy_by_twenty_points()
    {
        var model = Path.Combine(AppContext.BaseDirectory, "model");   // the sample's built-in checkpoint
        var adapters = Directory.CreateDirectory(Path.Combine(_root, "adapters")).FullName;
        using var first = CliProcess.Start("Grpo.Cli.dll", "serve", "--model", model, "--port", "0", "--adapter-root", adapters, "--threads", "1");
        using var second = CliProcess.Start("Grpo.Cli.dll", "serve", "--model", model, "--port", "0", "--adapter-root", adapters, "--threads", "1");
        string firstUrl = await ListeningUrl(first), secondUrl = await ListeningUrl(second);

        var settings = new TrainSettings
        {
            OutputFolder = Path.Combine(_root, "run"), Steps = 30, EvalCount = 128, EvalEvery = 30,
            RolloutServers = [firstUrl, secondUrl], AdapterDir = adapters,
        };
        Assert.Equal(0, await TrainCommand.RunAsync(settings, CancellationToken.None));

        HeldOutAccuracy.AssertGain(settings.OutputFolder!, 128, 0.20);
        using var client = new HttpClient();
        foreach (var url in new[] { firstUrl, secondUrl })
        {
            var answered = (await client.GetStringAsync(url + "/metrics")).Split('\n').Single(l => l.StartsWith("grpo:request_success_total ", StringComparison.Ordinal));
            Assert.True(long.Parse(answered.Split(' ')[1], System.Globalization.CultureInfo.InvariantCulture) > 0, $"{url} answered no request");
        }
    }
}
