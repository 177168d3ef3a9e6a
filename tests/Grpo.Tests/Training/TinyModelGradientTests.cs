using Grpo.Modeling;
using Grpo.Training;
using static TorchSharp.torch;

namespace Grpo.Tests.Training;

/// <summary>The GRPO loss through the whole tiny model: autograd's gradient equals central finite differences in float64.</summary>
public class TinyModelGradientTests
{
    [Theory]
    [InlineData(LossType.Dapo, ImportanceSamplingLevel.Token)]
    [InlineData(LossType.Grpo, ImportanceSamplingLevel.Sequence)]
    public void GradientMatchesFiniteDifferences(LossType lossType, ImportanceSamplingLevel level)
    {
        using var scope = NewDisposeScope();
        var model = CausalLM.Create(ModelConfig.Tiny("qwen3", vocabSize: 64), seed: 2, dtype: ScalarType.Float64);
        var options = new GrpoOptions { LossType = lossType, ImportanceSamplingLevel = level, Beta = 0.1, Epsilon = 0.2, MaxCompletionLength = 5, NumIterations = 2 };
        var loss = new GrpoLoss(GrpoLossSettings.From(options));
        using var generator = new Generator(9, CPU);
        var ids = randint(0, 64, [3, 9], generator: generator); // 4 prompt tokens, then 5 completion tokens
        var targets = ids.narrow(1, 4, 5);
        var mask = tensor(new double[] { 1, 1, 1, 1, 1, 1, 1, 1, 0, 0, 1, 1, 1, 1, 1 }, [3, 5]);
        var advantages = tensor(new double[] { 1.2, -0.7, 0.4 });
        var offsets = randn([3, 5], dtype: ScalarType.Float64, generator: generator) * 0.3;

        Tensor LogProbs() => TokenLogProbs.Compute(model.HiddenStates(ids).narrow(1, 3, 5), model.LmHeadWeight, null, targets, temperature: 0.9);
        Tensor start;
        using (no_grad()) start = LogProbs();
        // Old and reference log-probs are inputs: fixed, and off the current ones so ratios differ from 1 and some clip.
        var old = start + offsets;
        var reference = start - offsets;

        Tensor Loss() => loss.Compute(new GrpoLossInputs
        {
            LogProbs = LogProbs(), OldLogProbs = old, RefLogProbs = reference, Advantages = advantages, CompletionMask = mask,
        }).Loss;

        var weight = model.named_parameters().Single(p => p.name == "model.layers.1.self_attn.q_proj.weight").parameter;
        Loss().backward();
        var analytic = weight.grad!.clone();

        const double h = 1e-6;
        foreach (var (row, column) in new[] { (0, 0), (5, 17), (40, 90) })
        {
            double Perturbed(double by)
            {
                using var noGrad = no_grad();
                weight[row, column].add_(by);
                var value = Loss().item<double>();
                weight[row, column].sub_(by);
                return value;
            }
            var numeric = (Perturbed(h) - Perturbed(-h)) / (2 * h);
            var exact = analytic[row, column].item<double>();
            Assert.True(Math.Abs(numeric - exact) <= 1e-6 * Math.Max(1, Math.Abs(exact)), $"d loss / d W[{row},{column}]: autograd {exact}, finite differences {numeric}");
        }
    }
}
