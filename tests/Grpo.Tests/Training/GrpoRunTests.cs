using System.Text.Json;
using Grpo.Data;
using Grpo.Lora;
using Grpo.Modeling;
using Grpo.Rewards;
using Grpo.Sampling;
using Grpo.Tests.Modeling;
using Grpo.Tests.Sampling;
using Grpo.Training;
using Microsoft.Extensions.Logging;
using static TorchSharp.torch;

namespace Grpo.Tests.Training;

/// <summary>What the run owns: checkpoints and their retention, seeds, evaluation, metric sinks, inputs checked up front.</summary>
[Collection(nameof(GlobalRandomState))]
public class GrpoRunTests
{
    /// <summary>1 when the completion starts with a lowercase ASCII letter, else 0: a verifier-like binary score.</summary>
    sealed class StartsLowercase : RewardFunction
    {
        public override string Name => "starts_lowercase";
        public override double Score(RewardInput input) => input.CompletionIds.Count > 0 && input.CompletionIds[0] is >= 'a' and <= 'z' ? 1 : 0;
    }

    static readonly Problem[] Prompts = Enumerable.Range(0, 8)
        .Select(i => new Problem($"Say {i}:", new Dictionary<string, JsonElement>()))
        .ToArray();

    static (CausalLM Model, LoraModel Lora) Tiny(int loraSeed = 42, int maxPositions = 2048)
    {
        var model = CausalLM.Create(ModelConfig.Tiny("qwen3", vocabSize: 257) with { MaxPositionEmbeddings = maxPositions }, seed: 3);
        return (model, LoraModel.Apply(model, new LoraOptions { Rank = 4, Alpha = 8, Seed = loraSeed }));
    }

    static GrpoOptions Options(string dir, int steps) => new()
    {
        NumGenerations = 4,
        PromptsPerStep = 2,
        MaxCompletionLength = 6,
        LearningRate = 1e-2,
        MaxSteps = steps,
        Seed = 5,
        OutputDir = dir,
        SaveSteps = 1000,
    };

    static GrpoTrainer Trainer(CausalLM model, LoraModel lora, GrpoOptions options, ILogger? logger = null) =>
        new(model, new ByteTokenizer(), [new StartsLowercase()], options, lora) { Logger = logger };

    static int[] LoggedSteps(string dir) =>
        File.ReadLines(Path.Combine(dir, "metrics.jsonl")).Select(l => JsonDocument.Parse(l).RootElement.GetProperty("step").GetInt32()).ToArray();

    [Fact]
    public async Task SaveStepsZeroSavesOnlyAfterTheLastStep()
    {
        var (model, lora) = Tiny();
        var dir = TestModels.TempFolder();
        using var trainer = Trainer(model, lora, Options(dir, 3) with { SaveSteps = 0 });
        await trainer.TrainAsync(Prompts);
        Assert.Equal(["checkpoint-3"], Directory.EnumerateDirectories(dir, "checkpoint-*").Select(Path.GetFileName));
    }

    [Fact]
    public async Task SaveTotalLimitKeepsOnlyTheNewestCheckpoints()
    {
        var (model, lora) = Tiny();
        var dir = TestModels.TempFolder();
        using var trainer = Trainer(model, lora, Options(dir, 5) with { SaveSteps = 1, SaveTotalLimit = 2 });
        await trainer.TrainAsync(Prompts);
        Assert.Equal(["checkpoint-4", "checkpoint-5"], Directory.EnumerateDirectories(dir, "checkpoint-*").Select(Path.GetFileName).Order());
    }

    [Fact]
    public void TheAdaptersInitialisationFollowsItsSeedAndLeavesTheGlobalGeneratorAlone()
    {
        static LoraModel Adapter(int seed) =>
            LoraModel.Apply(CausalLM.Create(ModelConfig.Tiny("qwen3", vocabSize: 257), seed: 3), new LoraOptions { Rank = 4, Seed = seed });
        var first = Adapter(7);
        var second = Adapter(7);
        var other = Adapter(8);

        var model = CausalLM.Create(ModelConfig.Tiny("qwen3", vocabSize: 257), seed: 3);
        manual_seed(123);
        var expectedNext = rand(3);
        manual_seed(123);
        LoraModel.Apply(model, new LoraOptions { Rank = 4, Seed = 7 });
        Assert.True(rand(3).allclose(expectedNext, rtol: 0, atol: 0), "what the caller draws next is unaffected by Apply");

        var a = first.TrainableParameters();
        Assert.True(a[0].allclose(second.TrainableParameters()[0], rtol: 0, atol: 0), "the same seed gives the same A");
        Assert.False(a[0].allclose(other.TrainableParameters()[0], rtol: 0, atol: 0), "another seed gives another A");
    }

    [Fact]
    public async Task TwoRunsWithTheSameSeedGiveTheSameAdapterAndMetrics()
    {
        async Task<(IReadOnlyList<GrpoStepMetrics>, LoraModel)> RunOnce()
        {
            var (model, lora) = Tiny(loraSeed: 9);
            using var trainer = Trainer(model, lora, Options(TestModels.TempFolder(), 2));
            return (await trainer.TrainAsync(Prompts), lora);
        }
        var (first, loraA) = await RunOnce();
        using (var unrelated = rand(100)) { }   // other code drawing from the process-wide generator between runs
        var (second, loraB) = await RunOnce();

        Assert.Equal(first.Select(m => (m.Reward, m.Loss)), second.Select(m => (m.Reward, m.Loss)));
        var a = loraA.TrainableParameters();
        var b = loraB.TrainableParameters();
        for (int i = 0; i < a.Count; i++)
            Assert.True(a[i].allclose(b[i], rtol: 0, atol: 0), $"adapter weight {i} differs between two runs with the same seeds");
    }

    [Fact]
    public async Task AResumedRunLogsEveryStepOnce()
    {
        var (model, lora) = Tiny();
        var dir = TestModels.TempFolder();
        using (var trainer = Trainer(model, lora, Options(dir, 3) with { SaveSteps = 2 }))
            await trainer.TrainAsync(Prompts);   // steps 1-3 logged; checkpoints 2 and 3

        var (again, againLora) = Tiny();
        using var resumed = Trainer(again, againLora, Options(dir, 4) with { SaveSteps = 2 });
        resumed.ResumeFrom(TrainingCheckpoint.PathFor(dir, 2));
        await resumed.TrainAsync(Prompts);

        Assert.Equal([1, 2, 3, 4], LoggedSteps(dir));
    }

    [Fact]
    public async Task AnEvalSetIsMeasuredOnScheduleAndItsMetricsReachEverySink()
    {
        var (model, lora) = Tiny();
        var dir = TestModels.TempFolder();
        var eval = Prompts.Take(3).ToArray();
        var seen = new List<GrpoStepMetrics>();
        using var trainer = Trainer(model, lora, Options(dir, 3) with { EvalSteps = 2, NumGenerationsEval = 2 });
        await trainer.TrainAsync(Prompts, eval, new SynchronousProgress(seen.Add));

        Assert.Equal([false, true, true], seen.Select(m => m.Evaluation is not null));   // every 2 steps, and after the last
        var lines = File.ReadLines(Path.Combine(dir, "metrics.jsonl")).Select(l => JsonDocument.Parse(l).RootElement).ToList();
        Assert.False(lines[0].TryGetProperty("eval_accuracy", out _));
        Assert.Equal(seen[2].Evaluation!.Accuracy, lines[2].GetProperty("eval_accuracy").GetDouble());
        Assert.True(lines[2].TryGetProperty("eval_pass@2", out _));
        Assert.True(lines[2].TryGetProperty("eval_rewards/starts_lowercase/mean", out _));

        // Independently: greedy decoding of the trained model, graded by hand.
        using var greedy = new GroupSampler(model, new ByteTokenizer(), new SamplingOptions { TopK = 1, MaxNewTokens = 6 });
        var answers = greedy.Sample(eval.Select(p => p.Prompt).ToList(), 1);
        var expected = answers.Count(c => c.TokenIds.Length > 0 && c.TokenIds[0] is >= 'a' and <= 'z') / 3.0;
        Assert.Equal(expected, seen[2].Evaluation!.Accuracy);
        Assert.Equal(answers.Select(c => c.Text), seen[2].Evaluation!.Greedy.Select(r => r.Completion.Text));
    }

    [Fact]
    public async Task LoggingStepsSetsHowOftenTheLoggerHearsOfAStep()
    {
        var (model, lora) = Tiny();
        var logger = new ListLogger();
        using var trainer = Trainer(model, lora, Options(TestModels.TempFolder(), 4) with { LoggingSteps = 2 }, logger);
        await trainer.TrainAsync(Prompts);
        Assert.Equal(2, logger.Lines.Count);
    }

    [Fact]
    public async Task APromptLongerThanTheContextIsRefusedBeforeAnyStepUnlessTruncationIsAsked()
    {
        var (model, lora) = Tiny(maxPositions: 32);
        Problem[] rows = [Prompts[0], new Problem(new string('x', 40), new Dictionary<string, JsonElement>())];
        var dir = TestModels.TempFolder();
        using (var trainer = Trainer(model, lora, Options(dir, 1)))
        {
            var error = await Assert.ThrowsAsync<InvalidDataException>(() => trainer.TrainAsync(rows));
            Assert.Contains("Row 2 of the training set: its prompt is 40 tokens", error.Message);
            Assert.Contains("context of 32 tokens", error.Message);
        }
        Assert.False(File.Exists(Path.Combine(dir, "metrics.jsonl")));

        using var truncating = Trainer(model, lora, Options(TestModels.TempFolder(), 1) with { TruncatePromptsLeft = true });
        Assert.Single(await truncating.TrainAsync(rows));
    }

    [Fact]
    public async Task AModelWithNaNWeightsIsRefusedAsDamagedNotAsDiverged()
    {
        var (model, lora) = Tiny();
        using (no_grad()) model.named_parameters().First(p => p.name.EndsWith("q_proj.weight", StringComparison.Ordinal)).parameter[0, 0] = float.NaN;
        using var trainer = Trainer(model, lora, Options(TestModels.TempFolder(), 1));
        var error = await Assert.ThrowsAsync<InvalidDataException>(() => trainer.TrainAsync(Prompts));
        Assert.Contains("before any training", error.Message);
        Assert.Contains("q_proj.weight", error.Message);
    }

    [Fact]
    public void AStepWithAKlTermNeedsAReferenceWhenItIsBuilt()
    {
        var (model, lora) = Tiny();
        var options = Options("unused", 1) with { Beta = 0.1 };
        using var rollouts = new InProcessRollouts(model, new ByteTokenizer(), new SamplingOptions());
        using var optimizer = new PolicyOptimizer(lora.TrainableParameters(), options);
        var error = Assert.Throws<ArgumentException>(() =>
            new GrpoStep(model, rollouts, new RewardRunner([new StartsLowercase()]), new GrpoLoss(GrpoLossSettings.From(options)), optimizer, reference: null, options));
        Assert.Contains("needs a reference policy", error.Message);
    }

    /// <summary>Reports on the calling thread, unlike <see cref="Progress{T}"/>, so the list is complete when training returns.</summary>
    sealed class SynchronousProgress(Action<GrpoStepMetrics> report) : IProgress<GrpoStepMetrics>
    {
        public void Report(GrpoStepMetrics value) => report(value);
    }

    sealed class ListLogger : ILogger
    {
        public List<string> Lines { get; } = [];
        public IDisposable? BeginScope<TState>(TState state) where TState : notnull => null;
        public bool IsEnabled(LogLevel logLevel) => true;
        public void Log<TState>(LogLevel logLevel, EventId eventId, TState state, Exception? exception, Func<TState, Exception?, string> formatter) =>
            Lines.Add(formatter(state, exception));
    }
}
