using System.Text.Json;
using Grpo.Data;
using Grpo.Lora;
using Grpo.Modeling;
using Grpo.Rewards;
using Grpo.Sampling.Server;
using Grpo.Tests.Modeling;
using Grpo.Tests.Sampling;
using Grpo.Tests.Training;
using Grpo.Training;

namespace Grpo.Tests.Sampling.Server;

/// <summary>The trainer with rollouts from a fake server: it trains on the server's completions and publishes as it goes.</summary>
[Collection(nameof(GlobalRandomState))]
public sealed class ServerRolloutsTrainingTests
{
    /// <summary>1 when the completion ended with the end-of-sequence token: the fake server's choices 0, 3, ... do.</summary>
    private sealed class EndsWithEos : RewardFunction
    {
        public override string Name => "eos";
        public override double Score(RewardInput input) => input.CompletionIds.Count > 0 && input.CompletionIds[^1] == ByteTokenizer.Eos ? 1 : 0;
    }

    private static readonly Problem[] Prompts = [.. Enumerable.Range(0, 4).Select(i => new Problem($"{(char)('a' + i)}?", new Dictionary<string, JsonElement>()))];

    private static GrpoOptions Options(string outputDir) => new()
    {
        NumGenerations = 3, PromptsPerStep = 2, MaxCompletionLength = 4, MaxSteps = 2, Beta = 0, Seed = 1, OutputDir = outputDir,
    };

    [Fact]
    public async Task TheTrainerTrainsOnTheServersCompletionsAndPublishesAfterEachStep()
    {
        await using var server = await FakeRolloutServer.StartAsync();
        var dir = TestModels.TempFolder();
        using var model = CausalLM.Create(ModelConfig.Tiny("qwen3", vocabSize: 257), seed: 3);
        var lora = LoraModel.Apply(model, new LoraOptions { Rank = 2, Alpha = 4, Seed = 5 });
        using var trainer = new GrpoTrainer(model, new ByteTokenizer(), [new EndsWithEos()], Options(dir), lora, eosTokenIds: [ByteTokenizer.Eos])
        {
            RolloutServer = new RolloutServerOptions { Servers = [server.Url], AdapterDir = Path.Combine(dir, "published") },
        };

        var history = await trainer.TrainAsync(Prompts);

        // Of each group of 3, the fake's choice 0 ends with EOS: the reward is 1/3 at every step.
        Assert.Equal([1 / 3.0, 1 / 3.0], history.Select(m => Math.Round(m.Reward, 12)), (a, b) => Math.Abs(a - b) < 1e-12);
        // Another engine's log-probs: the sampler-mismatch correction ran and logged TRL's metrics.
        Assert.All(history, m => Assert.True(m.Objective["sampling/sampling_logp_difference/mean"] > 0));
        // Step 1 sampled the base model, step 2 the adapter published after step 1.
        Assert.Equal(["base-model", "base-model", "grpo-step-1", "grpo-step-1"], server.CompletionRequests.Select(r => r["model"]!.GetValue<string>()));
        Assert.Equal(["grpo-step-1"], server.Loaded.Keys);
        Directory.Delete(dir, recursive: true);
    }

    [Fact]
    public async Task FullFineTuningWithServersIsRefusedByTheTrainer()
    {
        var dir = TestModels.TempFolder();
        using var model = CausalLM.Create(ModelConfig.Tiny("qwen3", vocabSize: 257), seed: 3);
        using var trainer = new GrpoTrainer(model, new ByteTokenizer(), [new EndsWithEos()], Options(dir))
        {
            RolloutServer = new RolloutServerOptions { Servers = [new Uri("http://127.0.0.1:1")], AdapterDir = dir },
        };

        var e = await Assert.ThrowsAsync<NotSupportedException>(() => trainer.TrainAsync(Prompts));

        Assert.Equal(ServerRollouts.FullFineTuningRefused, e.Message);
        Directory.Delete(dir, recursive: true);
    }
}
