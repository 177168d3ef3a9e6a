using Grpo.Lora;
using static TorchSharp.torch;
using Linear = Grpo.Modeling.Linear;

namespace Grpo.Tests.Lora;

/// <summary>The adapter's formula, y = W x + b + scale · B A dropout(x), checked by hand on one layer.</summary>
public class LoraScalingAndDropoutTests
{
    static (nn.Module<Tensor, Tensor> Model, Linear Layer) OneLayer(int inFeatures, int outFeatures)
    {
        var layer = new Linear(inFeatures, outFeatures, hasBias: true, ScalarType.Float32, CPU);
        return (nn.Sequential(("proj", layer)), layer);
    }

    [Theory]
    [InlineData(false, 2.0)]  // alpha / r = 8 / 4
    [InlineData(true, 4.0)]   // alpha / sqrt(r) = 8 / 2
    public void OutputIsBasePlusScaledLowRankUpdate(bool rsLora, double scale)
    {
        var (model, layer) = OneLayer(3, 2);
        var options = new LoraOptions { Rank = 4, Alpha = 8, UseRsLora = rsLora, TargetModules = ["proj"] };
        Assert.Equal(scale, options.Scale);
        LoraModel.Apply(model, options);

        double[] w = [0.5, -1, 2, 1.5, 0.25, -0.75], bias = [0.1, -0.2];
        double[] a = [1, 0, -1, 0.5, 2, 0, 0, 1, 1, -2, 0.5, 0.25];   // [4, 3]
        double[] b = [0.3, -0.1, 0.2, 0.05, -0.4, 0.6, 0.1, -0.3];   // [2, 4]
        double[] x = [1.5, -2, 0.75];
        using (no_grad())
        {
            layer.Weight.copy_(tensor(w.Select(v => (float)v).ToArray(), 2, 3));
            layer.Bias!.copy_(tensor(bias.Select(v => (float)v).ToArray()));
            layer.lora!.A.copy_(tensor(a.Select(v => (float)v).ToArray(), 4, 3));
            layer.lora!.B.copy_(tensor(b.Select(v => (float)v).ToArray(), 2, 4));
        }

        using var y = model.forward(tensor(x.Select(v => (float)v).ToArray(), 1, 3));

        var ax = Enumerable.Range(0, 4).Select(k => Enumerable.Range(0, 3).Sum(i => a[k * 3 + i] * x[i])).ToArray();
        for (var o = 0; o < 2; o++)
        {
            var expected = Enumerable.Range(0, 3).Sum(i => w[o * 3 + i] * x[i]) + bias[o]
                           + scale * Enumerable.Range(0, 4).Sum(k => b[o * 4 + k] * ax[k]);
            Assert.Equal(expected, y[0, o].item<float>(), 1e-5);
        }
    }

    [Fact]
    public void DropoutActsOnTheAdapterInputInTrainingOnly()
    {
        // W = A = B = I and scale 1, so y = x + dropout(x): with x = 1, each output is 1 + 0 or 1 + 1 / (1 - p) = 3.
        const int n = 64;
        var (model, layer) = OneLayer(n, n);
        LoraModel.Apply(model, new LoraOptions { Rank = n, Alpha = n, Dropout = 0.5, TargetModules = ["proj"] });
        using (no_grad())
        {
            layer.Weight.copy_(eye(n));
            layer.Bias!.zero_();
            layer.lora!.A.copy_(eye(n));
            layer.lora!.B.copy_(eye(n));
        }
        using var x = ones(1, n);

        model.train();
        using var trained = model.forward(x);
        var values = trained.data<float>().ToArray();
        Assert.All(values, v => Assert.True(v == 1 || v == 3, $"{v} is neither 1 (dropped) nor 3 (kept, scaled by 2)"));
        Assert.Contains(1f, values);  // 64 coin flips: all heads or all tails has probability 2^-63
        Assert.Contains(3f, values);

        model.eval();
        using var evaluated = model.forward(x);
        Assert.All(evaluated.data<float>().ToArray(), v => Assert.Equal(2f, v));
    }
}
