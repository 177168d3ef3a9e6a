using System.Text.Json;
using Grpo.Data;
using Grpo.Lora;
using Grpo.Modeling;
using Grpo.Rewards;
using Grpo.Sampling;
using Grpo.Training;
using static TorchSharp.torch;

namespace Grpo.Tests.Training;

/// <summary>
/// <see cref="GrpoOptions.MaxTokensPerMicroBatch"/>: a step cut into unequal token-budget micro-batches has the loss
/// and gradient of the same step as one batch, for every loss type (float64, 1e-9).
/// </summary>
[Collection(nameof(GlobalRandomState))]
public class TokenBudgetMicroBatchTests
{
    const int Vocab = 64;

    // Two prompts of 3 and 6 tokens, four completions each, 1 to 7 tokens long: micro-batches differ in rows and width.
    static readonly int[][] Prompts = [[5, 9, 2], [7, 1, 4, 4, 8, 3]];
    static readonly int[][] CompletionTokens =
    [
        [11, 12, 13, 14, 15, 16, 17], [21], [31, 32, 33], [41, 42, 43, 44, 45],
        [51, 52], [61, 62, 63, 10, 20, 30], [3, 4, 5, 6], [7, 8, 9, 10, 11, 12, 13],
    ];

    /// <summary>The same completions on every request; their log-probs are the trainer's own (no old-policy pass at μ = 1).</summary>
    sealed class FixedRollouts : IRolloutSource
    {
        public bool LogProbsMatchTrainer => true;
        public Task<IReadOnlyList<Completion>> GenerateAsync(RolloutRequest request, CancellationToken cancellationToken = default) =>
            Task.FromResult<IReadOnlyList<Completion>>(CompletionTokens.Select((ids, i) => new Completion(
                i / 4, i % 4, ids, "", new float[ids.Length], i % 3 == 0 ? FinishReason.Length : FinishReason.Eos)).ToList());
    }

    /// <summary>Rewards that differ within each group: the sum of the token ids, mod 7.</summary>
    sealed class IdSum : RewardFunction
    {
        public override string Name => "id_sum";
        public override double Score(RewardInput input) => input.CompletionIds.Sum() % 7;
    }

    [Theory]
    [InlineData(LossType.Grpo)]
    [InlineData(LossType.Bnpo)]
    [InlineData(LossType.DrGrpo)]
    [InlineData(LossType.Dapo)]
    [InlineData(LossType.Cispo)]
    [InlineData(LossType.Sapo)]
    [InlineData(LossType.Luspo)]
    [InlineData(LossType.Vespo)]
    public void BudgetMicroBatchesGiveTheOneBatchLossAndGradient(LossType lossType)
    {
        var options = new GrpoOptions
        {
            NumGenerations = 4, PromptsPerStep = 2, MaxCompletionLength = 7, LossType = lossType, Beta = 0.05, EntropyCoef = 0.01,
            MaskTruncatedCompletions = true, MaxGradNorm = 1e9, GradientCheckpointing = false,
            // β1 = β2 = 0 and ε = lr make AdamW's first update lr·g / (|g| + ε) ≈ g, so the weights' change is the gradient.
            AdamBeta1 = 0, AdamBeta2 = 0, AdamEpsilon = 1e6, LearningRate = 1e6,
        };
        var (oneLoss, oneGradient) = Step(options);
        var budget = options with { MaxTokensPerMicroBatch = 24 };
        var (splitLoss, splitGradient) = Step(budget);

        Assert.True(MicroBatchPlan.Split([.. Enumerable.Range(0, 8)], r => Prompts[r / 4].Length, r => CompletionTokens[r].Length, 1, budget).Count >= 3);
        Assert.True(oneGradient.Max(Math.Abs) > 1e-3, $"the step must move the adapter for the comparison to mean anything {oneGradient.Max(Math.Abs)} {splitGradient.Max(Math.Abs)} {oneLoss} {splitLoss}");
        Assert.Equal(oneLoss, splitLoss, 1e-9);
        for (int i = 0; i < oneGradient.Length; i++)
            Assert.Equal(oneGradient[i], splitGradient[i], 1e-9);
    }

    [Fact]
    public void PackingKeepsEachMicroBatchWithinTheBudgetPaddingIncluded()
    {
        var options = new GrpoOptions { NumGenerations = 4, PromptsPerStep = 2, MaxTokensPerMicroBatch = 24 };
        var plan = MicroBatchPlan.Split([.. Enumerable.Range(0, 8)], r => Prompts[r / 4].Length, r => CompletionTokens[r].Length, 1, options);

        Assert.Equal(Enumerable.Range(0, 8), plan.SelectMany(rows => rows).Order());
        foreach (var rows in plan.Where(rows => rows.Length > 1))
            Assert.True(rows.Length * (rows.Max(r => Prompts[r / 4].Length) + rows.Max(r => CompletionTokens[r].Length)) <= 24);
        // Longest first: 13 tokens (6 + 7) fit once in 24, so the two 7-token completions go alone, the rest pair up.
        Assert.Equal([[7], [0], [5, 3], [6, 2], [4, 1]], plan);
    }

    [Fact]
    public void ABudgetWithGradientAccumulationIsRefused()
    {
        var error = Assert.Throws<ArgumentException>(new GrpoOptions { MaxTokensPerMicroBatch = 512, GradientAccumulationSteps = 2 }.Validate);
        Assert.Contains("GradientAccumulationSteps to 1", error.Message);
    }

    /// <summary>One step on a fresh float64 model with a LoRA adapter whose B is not zero (so A gets a gradient too).</summary>
    static (double Loss, double[] Gradient) Step(GrpoOptions options)
    {
        using var scope = NewDisposeScope();
        var model = CausalLM.Create(ModelConfig.Tiny("qwen2", vocabSize: Vocab), seed: 4, dtype: ScalarType.Float64);
        var lora = LoraModel.Apply(model, new LoraOptions { Rank = 4, Seed = 5 });
        using (no_grad())
        {
            using var generator = new Generator(6, CPU);
            foreach (var (name, parameter) in model.named_parameters().Where(p => p.name.EndsWith(".lora.B", StringComparison.Ordinal)))
                parameter.copy_(randn(parameter.shape, dtype: ScalarType.Float64, generator: generator) * 0.1);
        }
        var trainable = lora.TrainableParameters();
        var before = trainable.Select(p => p.detach().clone()).ToList();
        using var optimizer = new PolicyOptimizer(trainable, options);
        var step = new GrpoStep(model, new FixedRollouts(), new RewardRunner([new IdSum()]), new GrpoLoss(GrpoLossSettings.From(options)),
            optimizer, KlReference.AdapterOff(model, lora), options);
        Problem[] problems = [new("a", new Dictionary<string, JsonElement>()), new("b", new Dictionary<string, JsonElement>())];
        var metrics = step.Run(problems, Prompts, new GrpoStepContext(1, 1, options.LearningRate, Seed: 1));
        var gradient = trainable.Zip(before, (after, start) => (start - after).flatten()).ToArray();
        return (metrics.Loss, cat(gradient).data<double>().ToArray());
    }
}
