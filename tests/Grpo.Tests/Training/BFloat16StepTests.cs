using System.Text.Json;
using Grpo.Data;
using Grpo.Lora;
using Grpo.Modeling;
using Grpo.Rewards;
using Grpo.Sampling;
using Grpo.Tests.Modeling;
using Grpo.Training;
using static TorchSharp.torch;

namespace Grpo.Tests.Training;

/// <summary>
/// One GRPO step with a bfloat16 base against the same step in float32: the same weights (bfloat16 values, widened
/// exactly for the float32 model), the same LoRA adapter, the same completions and rewards. Only the base's
/// arithmetic differs, since the adapter, its optimizer state, the log-probs and the loss are float32 in both.
/// </summary>
/// <remarks>
/// Measured on this model (2 layers, hidden 96, vocab 257, 8 completions of 6 to 12 tokens, β 0.5): the KL to the
/// adapter-off reference (0.0307) differs by 0.31 %, the loss (−0.1551) by 0.030 %, the gradient norm (1.379) by 0.76 %.
/// bfloat16 keeps 8 significant bits, so each rounding moves a value by up to 2^-9 (0.2 %) of itself; a few roundings
/// per layer that partly cancel make about 0.5 % on a log-prob difference, so the KL is allowed 1 %. The gradient
/// also flows back through every layer in bfloat16, twice the roundings: allowed 3 %. The loss is allowed 0.2 %: its
/// policy term does not depend on the dtype (the ratio is 1 on the first update), so only β·KL carries the rounding.
/// </remarks>
[Collection(nameof(GlobalRandomState))]
public class BFloat16StepTests
{
    sealed class FixedRollouts(IReadOnlyList<Completion> completions) : IRolloutSource
    {
        public bool LogProbsMatchTrainer => true;
        public Task<IReadOnlyList<Completion>> GenerateAsync(RolloutRequest request, CancellationToken cancellationToken = default) =>
            Task.FromResult(completions);
    }

    sealed class Length : RewardFunction
    {
        public override string Name => "length";
        public override double Score(RewardInput input) => input.CompletionIds.Count;
    }

    static readonly GrpoOptions Options = new() { NumGenerations = 4, PromptsPerStep = 2, MaxCompletionLength = 12, LearningRate = 1e-3, Beta = 0.5 };

    static IReadOnlyList<Completion> Completions(int vocab)
    {
        var random = new Random(4);
        return [.. Enumerable.Range(0, 8).Select(i =>
        {
            var ids = Enumerable.Range(0, 6 + i % 7).Select(_ => random.Next(1, vocab)).ToArray();
            return new Completion(i / 4, i % 4, ids, "", new float[ids.Length], FinishReason.Eos);
        })];
    }

    static (GrpoStepMetrics Metrics, Grpo.Modeling.CausalLM Model, LoraModel Lora, PolicyOptimizer Optimizer) Step(string folder, ScalarType dtype)
    {
        var model = Checkpoint.Load(folder, dtype: dtype);
        var lora = LoraModel.Apply(model, new LoraOptions { Rank = 4, Alpha = 8, Seed = 1 });
        using (no_grad())
        {
            // B away from zero, so that the policy differs from the adapter-off reference and the KL is not zero.
            using var generator = new Generator(3, CPU);
            foreach (var (_, layer) in lora.Layers) layer.lora!.B.copy_(randn(layer.lora.B.shape, generator: generator).mul_(0.3));
        }
        var optimizer = new PolicyOptimizer(lora.TrainableParameters(), Options);
        var completions = Completions(model.Config.VocabSize);
        var step = new GrpoStep(model, new FixedRollouts(completions), new RewardRunner([new Length()]), new GrpoLoss(GrpoLossSettings.From(Options)),
            optimizer, KlReference.AdapterOff(model, lora), Options);
        Problem[] problems = [new("a", new Dictionary<string, JsonElement>()), new("b", new Dictionary<string, JsonElement>())];
        var metrics = step.Run(problems, [[5, 6, 7], [8, 9]], new GrpoStepContext(1, 1, 1e-3, Seed: 9));
        return (metrics, model, lora, optimizer);
    }

    [Fact]
    public void OneStepsLossInBFloat16MatchesFloat32AndTheAdapterAndItsMomentsStayFloat32()
    {
        // Random float32 weights rounded to bfloat16 once: both models then hold exactly the same values.
        var folder32 = TestModels.TempFolder();
        var folder16 = TestModels.TempFolder();
        using (var created = TestModels.Random(ModelConfig.Tiny("qwen3", vocabSize: 257), seed: 2))
            Checkpoint.Save(created, folder32);
        using (var rounded = Checkpoint.Load(folder32, dtype: ScalarType.BFloat16))
            Checkpoint.Save(rounded, folder16);

        var (m32, model32, _, optimizer32) = Step(folder16, ScalarType.Float32);
        var (m16, model16, lora16, optimizer16) = Step(folder16, ScalarType.BFloat16);

        Assert.Equal(ScalarType.BFloat16, model16.Dtype);
        Assert.True(m32.Kl > 1e-3, $"the KL ({m32.Kl}) is large enough to compare");
        Assert.InRange(Math.Abs(m16.Kl!.Value - m32.Kl!.Value) / m32.Kl.Value, 0, 0.01);
        Assert.InRange(Math.Abs(m16.Loss - m32.Loss) / Math.Abs(m32.Loss), 0, 0.002);
        Assert.InRange(Math.Abs(m16.GradNorm - m32.GradNorm) / m32.GradNorm, 0, 0.03);

        Assert.All(lora16.TrainableParameters(), p => Assert.Equal(ScalarType.Float32, p.dtype));
        var moments = optimizer16.Moments().ToList();
        Assert.Equal(2 * lora16.TrainableParameters().Count, moments.Count);
        Assert.All(moments, m => Assert.Equal(ScalarType.Float32, m.dtype));
        Assert.All(lora16.Layers, l => Assert.Equal(ScalarType.BFloat16, l.Layer.Weight.dtype));

        optimizer32.Dispose();
        optimizer16.Dispose();
        model32.Dispose();
        model16.Dispose();
        Directory.Delete(folder32, recursive: true);
        Directory.Delete(folder16, recursive: true);
    }
}
