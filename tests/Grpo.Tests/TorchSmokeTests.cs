using TorchSharp;
using static TorchSharp.torch;

namespace Grpo.Tests;

/// <summary>TorchSharp's native library loads in the test process and autograd works.</summary>
public class TorchSmokeTests
{
    [Fact]
    public void ForwardAndBackwardMatchHandComputedValues()
    {
        // y = sum((W x)^2) with W = [[1, 2], [3, 4]], x = [1, -1]: W x = [-1, -1], y = 2.
        // dy/dW = 2 (W x) x^T = [[-2, 2], [-2, 2]].
        using var w = tensor(new float[] { 1, 2, 3, 4 }, 2, 2).requires_grad_();
        using var x = tensor(new float[] { 1, -1 }, 2, 1);
        using var y = w.matmul(x).pow(2).sum();
        y.backward();

        Assert.Equal(2f, y.item<float>());
        Assert.Equal(new float[] { -2, 2, -2, 2 }, w.grad!.data<float>().ToArray());
    }
}
