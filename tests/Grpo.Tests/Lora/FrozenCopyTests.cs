using Grpo.Lora;
using static TorchSharp.torch;

namespace Grpo.Tests.Lora;

/// <summary>The explicit frozen reference for full fine-tuning.</summary>
public class FrozenCopyTests
{
    [Fact]
    public void CopyComputesTheSameAndStaysPutWhileTheSourceTrains()
    {
        using var policy = new TinyDecoder(seed: 1);
        using var ids = TinyDecoder.SampleIds();
        using var start = policy.forward(ids);

        using var reference = FrozenCopy.Of(policy, () => new TinyDecoder(seed: 99));
        TensorAssert.BitEqual(start, reference.forward(ids), "reference output");
        Assert.All(reference.parameters(), p => Assert.False(p.requires_grad));
        Assert.False(reference.training);
        Assert.All(policy.parameters(), p => Assert.True(p.requires_grad));  // full fine-tuning: the policy trains everything

        // One SGD step on the policy must not move the reference: the copy owns its own storage.
        using (var loss = policy.forward(ids).square().mean()) loss.backward();
        using (no_grad())
            foreach (var p in policy.parameters()) p.sub_(p.grad!.mul(10));
        Assert.False(policy.forward(ids).allclose(start));
        TensorAssert.BitEqual(start, reference.forward(ids), "reference output after a policy step");
    }

    [Fact]
    public void AModelOfAnotherShapeIsRefusedByName()
    {
        using var policy = new TinyDecoder();
        var e = Assert.Throws<ArgumentException>(() => FrozenCopy.Of(policy, () => new TinyDecoder(intermediate: 48)));
        Assert.Contains("mlp.gate_proj.weight", e.Message);
        Assert.Contains("[64, 32]", e.Message);
    }

    [Fact]
    public void AModelWithOtherTensorsIsRefusedByName()
    {
        using var policy = new TinyDecoder(layers: 2);
        var e = Assert.Throws<ArgumentException>(() => FrozenCopy.Of(policy, () => new TinyDecoder(layers: 1)));
        Assert.Contains("model.layers.1.", e.Message);
    }
}
