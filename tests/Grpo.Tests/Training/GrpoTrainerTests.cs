using Grpo.Data;
using Grpo.Lora;
using Grpo.Modeling;
using Grpo.Rewards;
using Grpo.Tests.Modeling;
using Grpo.Tests.Sampling;
using Grpo.Tokenization;
using Grpo.Training;
using static TorchSharp.torch;

namespace Grpo.Tests.Training;

/// <summary>
/// Tests that depend on TorchSharp's process-wide random generator (adapter initialisation, dropout) run alone, so
/// that no test running beside them draws from it.
/// </summary>
[CollectionDefinition(nameof(GlobalRandomState), DisableParallelization = true)]
public sealed class GlobalRandomState;

/// <summary>The whole loop on the tiny model: it learns, it resumes exactly, it stops cleanly on bad input.</summary>
[Collection(nameof(GlobalRandomState))]
public class GrpoTrainerTests
{
    /// <summary>A toy verifiable task: the share of completion tokens that are lowercase ASCII letters (about 10% by chance).</summary>
    sealed class LowercaseShare : RewardFunction
    {
        public override string Name => "lowercase";
        public override double Score(RewardInput input) =>
            input.CompletionIds.Count == 0 ? 0 : input.CompletionIds.Count(id => id is >= 'a' and <= 'z') / (double)input.CompletionIds.Count;
    }

    static readonly Problem[] Prompts = Enumerable.Range(0, 16)
        .Select(i => new Problem($"Write {i}:", new Dictionary<string, System.Text.Json.JsonElement>()))
        .ToArray();

    static (CausalLM Model, LoraModel Lora) TinyWithAdapter(double dropout = 0)
    {
        var model = CausalLM.Create(ModelConfig.Tiny("qwen3", vocabSize: 257), seed: 3);
        var lora = LoraModel.Apply(model, new LoraOptions { Rank = 8, Alpha = 16, Dropout = dropout, Seed = 5 });
        return (model, lora);
    }

    static GrpoOptions Options(string outputDir, int steps) => new()
    {
        NumGenerations = 8,
        PromptsPerStep = 4,
        MaxCompletionLength = 8,
        LearningRate = 2e-2,
        LearningRateSchedule = LearningRateSchedule.Constant,
        MaxSteps = steps,
        Seed = 11,
        OutputDir = outputDir,
        SaveSteps = 1000,
    };

    [Fact]
    public async Task WithToolsTheTrainerDescribesThemInThePromptAndLogsToolUse()
    {
        var (model, lora) = TinyWithAdapter();
        var add = Microsoft.Extensions.AI.AIFunctionFactory.Create((int a, int b) => a + b, "add", "Adds two integers.");
        var options = Options(TestModels.TempFolder(), 1) with { NumGenerations = 2, PromptsPerStep = 2, Tools = [add], MaxToolCallingIterations = 1 };
        using var trainer = new GrpoTrainer(model, new ByteTokenizer(), [new LowercaseShare()], options, lora) { ChatFormat = new ChatMlFormatter() };

        var history = await trainer.TrainAsync(Prompts[..2]);

        var logged = Assert.Single(history).ToDictionary();
        Assert.Equal(0, logged["tools/call_frequency"]);   // a random model writes no call
        Assert.Equal(0, logged["tools/failure_frequency"]);
        Assert.Contains("<tools>\n{\"type\": \"function\", \"function\": {\"name\": \"add\"",
            new PromptEncoder(new ByteTokenizer(), new ChatMlFormatter(), null, [add]).Format(Prompts[0]));
        using var plain = new GrpoTrainer(model, new ByteTokenizer(), [new LowercaseShare()], options, lora);
        Assert.Contains("renders tools", (await Assert.ThrowsAsync<InvalidOperationException>(() => plain.TrainAsync(Prompts[..2]))).Message);
    }

    [Fact]
    [Trait("Category", "Slow")]
    public async Task MeanRewardRisesClearlyOnAToyTask()
    {
        // Full fine-tuning: a random tiny model's head is near zero, so its output is near uniform and only training
        // the head itself moves it fast. LoRA learning is exercised by the sample's pre-trained model.
        var model = CausalLM.Create(ModelConfig.Tiny("qwen3", vocabSize: 257), seed: 3);
        using var trainer = new GrpoTrainer(model, new ByteTokenizer(), [new LowercaseShare()], Options(TestModels.TempFolder(), 30) with { LearningRate = 3e-3 });

        var history = await trainer.TrainAsync(Prompts);

        double first = history.Take(5).Average(m => m.Reward), last = history.TakeLast(5).Average(m => m.Reward);
        Assert.True(first < 0.25, $"the untrained model should rarely write lowercase letters, got {first:0.###}");
        Assert.True(last > first + 0.3, $"mean reward should rise clearly: first five steps {first:0.###}, last five {last:0.###}");
    }

    [Fact]
    public async Task AResumedRunReachesTheSameWeightsAsAnUninterruptedOne()
    {
        // Dropout on, β > 0, μ = 2 and an adaptive entropy bonus, so the random draws, the reference pass, old log-probs
        // and the entropy controller's state all matter.
        GrpoOptions Resumable(string dir, int steps) => Options(dir, steps) with
        {
            Beta = 0.05, NumIterations = 2, GradientAccumulationSteps = 2, SaveSteps = 2,
            UseAdaptiveEntropy = true, EntropyCoef = 0.01, EntropyCoefDelta = 0.01, EntropyTarget = 100,
        };

        var (modelA, loraA) = TinyWithAdapter(dropout: 0.1);
        var straight = TestModels.TempFolder();
        using (var trainer = new GrpoTrainer(modelA, new ByteTokenizer(), [new LowercaseShare()], Resumable(straight, 4), loraA))
            await trainer.TrainAsync(Prompts);

        var (modelB, loraB) = TinyWithAdapter(dropout: 0.1);
        var interrupted = TestModels.TempFolder();
        using (var trainer = new GrpoTrainer(modelB, new ByteTokenizer(), [new LowercaseShare()], Resumable(interrupted, 2), loraB))
            await trainer.TrainAsync(Prompts); // stops after step 2, writing checkpoint-2

        var (modelC, loraC) = TinyWithAdapter(dropout: 0.1);
        using (var trainer = new GrpoTrainer(modelC, new ByteTokenizer(), [new LowercaseShare()], Resumable(interrupted, 4), loraC))
        {
            trainer.ResumeFrom(TrainingCheckpoint.Latest(interrupted)!);
            Assert.Equal(2, trainer.Step);
            await trainer.TrainAsync(Prompts);
        }

        var expected = loraA.TrainableParameters();
        var actual = loraC.TrainableParameters();
        for (int i = 0; i < expected.Count; i++)
            Assert.True(expected[i].allclose(actual[i], rtol: 0, atol: 0), $"adapter parameter {i} differs after resuming");
        Assert.Equal(
            File.ReadLines(Path.Combine(straight, "metrics.jsonl")).Select(l => l[..l.IndexOf("\"sampling_tokens", StringComparison.Ordinal)]),
            File.ReadLines(Path.Combine(interrupted, "metrics.jsonl")).Select(l => l[..l.IndexOf("\"sampling_tokens", StringComparison.Ordinal)]));
    }

    [Fact]
    public async Task TheLoopRunsOnOneThread()
    {
        // One thread keeps libtorch's allocations in one malloc arena (see TrainAsync), and OnStep and IProgress see a
        // single thread.
        var (model, lora) = TinyWithAdapter();
        var threads = new List<int>();
        using var trainer = new GrpoTrainer(model, new ByteTokenizer(), [new LowercaseShare()], Options(TestModels.TempFolder(), 4), lora)
        {
            OnStep = _ => threads.Add(Environment.CurrentManagedThreadId),
        };
        await trainer.TrainAsync(Prompts);
        Assert.Equal(4, threads.Count);
        Assert.Single(threads.Distinct());
    }

    [Fact]
    public async Task CheckpointsAreCompleteFoldersWithTheAdapterInPeftLayout()
    {
        var (model, lora) = TinyWithAdapter();
        var dir = TestModels.TempFolder();
        using var trainer = new GrpoTrainer(model, new ByteTokenizer(), [new LowercaseShare()], Options(dir, 3) with { SaveSteps = 2 }, lora);
        await trainer.TrainAsync(Prompts);

        Assert.Equal(["checkpoint-2", "checkpoint-3", "metrics.jsonl", "runs"], Directory.EnumerateFileSystemEntries(dir).Select(Path.GetFileName).Order());
        var latest = TrainingCheckpoint.Latest(dir)!;
        Assert.EndsWith("checkpoint-3", latest);
        Assert.True(File.Exists(Path.Combine(latest, "adapter", "adapter_config.json")));
        Assert.True(File.Exists(Path.Combine(latest, "adapter", "adapter_model.safetensors")));
        Assert.True(File.Exists(Path.Combine(latest, TrainingCheckpoint.OptimizerFileName)));
        Assert.Equal(3, TrainingCheckpoint.LoadState(latest).Step);
        Assert.Equal(3, File.ReadLines(Path.Combine(dir, "metrics.jsonl")).Count());
    }

    [Fact]
    public async Task ANaNLossStopsWithTheStepNamedAndTheLastCheckpointIntact()
    {
        var (model, lora) = TinyWithAdapter();
        var dir = TestModels.TempFolder();
        // A learning rate this large sends the weights to infinity after the first update.
        using var trainer = new GrpoTrainer(model, new ByteTokenizer(), [new LowercaseShare()], Options(dir, 10) with { LearningRate = 1e30, MaxGradNorm = 1e30, SaveSteps = 1 }, lora);

        var error = await Assert.ThrowsAsync<GrpoTrainingException>(() => trainer.TrainAsync(Prompts));

        Assert.Equal(TrainingFailure.Diverged, error.Cause);
        Assert.Matches($"[Ss]tep {error.Step}\\b", error.Message);
        Assert.Contains($"Last metrics (step {error.Step - 1})", error.Message);
        var latest = TrainingCheckpoint.Latest(dir)!;
        Assert.Equal(error.Step - 1, TrainingCheckpoint.LoadState(latest).Step);
        Assert.EndsWith($"resume from {latest}.", error.Message);
    }

    [Fact]
    public async Task BadInputIsRejectedBeforeAnyWork()
    {
        var (model, lora) = TinyWithAdapter();
        using var trainer = new GrpoTrainer(model, new ByteTokenizer(), [new LowercaseShare()], Options(TestModels.TempFolder(), 1), lora);
        Assert.Contains("dataset is empty", (await Assert.ThrowsAsync<ArgumentException>(() => trainer.TrainAsync([]))).Message);

        Assert.Throws<ArgumentOutOfRangeException>(() => new GrpoTrainer(model, new ByteTokenizer(), [new LowercaseShare()], Options("x", 1) with { NumGenerations = 1 }, lora));

        var full = CausalLM.Create(ModelConfig.Tiny("qwen3", vocabSize: 257), seed: 3);
        using var fullTrainer = new GrpoTrainer(full, new ByteTokenizer(), [new LowercaseShare()], Options(TestModels.TempFolder(), 1) with { Beta = 0.1 });
        Assert.Contains("explicit reference model", (await Assert.ThrowsAsync<ArgumentException>(() => fullTrainer.TrainAsync(Prompts))).Message);

        Assert.Throws<InvalidDataException>(() => trainer.ResumeFrom(TestModels.TempFolder()));
    }
}
