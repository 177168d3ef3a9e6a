using static TorchSharp.torch;

namespace Grpo.Tests.Lora;

public static class TensorAssert
{
    /// <summary>Same shape, dtype and bytes: equality to the last bit.</summary>
    public static void BitEqual(Tensor expected, Tensor actual, string? what = null)
    {
        Assert.Equal(expected.shape, actual.shape);
        Assert.Equal(expected.dtype, actual.dtype);
        Assert.True(expected.bytes.SequenceEqual(actual.bytes), $"{what ?? "tensor"} differs from the expected bits");
    }
}
