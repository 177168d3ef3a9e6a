using Grpo.Training;
using TorchSharp;
using TorchSharp.Modules;
using Xunit;
using static TorchSharp.torch;

namespace Grpo.Tests.Training;

/// <summary>Gradient clipping as <c>max_grad_norm</c> defines it: the global L2 norm is reported, and 0 leaves gradients alone.</summary>
public class PolicyOptimizerTests
{
    /// <summary>A weight whose gradient is [3, 4]: L2 norm 5 by hand.</summary>
    private static Parameter WeightWithGradient()
    {
        var weight = new Parameter(zeros(2, dtype: ScalarType.Float64));
        weight.grad = tensor(new[] { 3.0, 4.0 });
        return weight;
    }

    [Theory]
    [InlineData(0.0, 3.0, 4.0)]    // off: unchanged
    [InlineData(10.0, 3.0, 4.0)]   // under the limit: unchanged
    [InlineData(1.0, 0.6, 0.8)]    // scaled to norm 1
    public void Clipping_reports_the_norm_before_clipping_and_scales_only_above_the_limit(double maxGradNorm, double x, double y)
    {
        var weight = WeightWithGradient();
        using var optimizer = new PolicyOptimizer([weight], new GrpoOptions { MaxGradNorm = maxGradNorm });

        Assert.Equal(5.0, optimizer.ClipGradients(), 9);
        var grad = weight.grad!.data<double>().ToArray();
        Assert.Equal(x, grad[0], 6);
        Assert.Equal(y, grad[1], 6);
    }
}
