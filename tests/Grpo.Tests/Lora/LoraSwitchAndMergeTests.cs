using Grpo.Lora;
using static TorchSharp.torch;

namespace Grpo.Tests.Lora;

/// <summary>The switched-off scope (the trainer's KL reference) and merging into the base weights.</summary>
public class LoraSwitchAndMergeTests
{
    /// <summary>A model with trained-looking adapters (non-zero B) and its base output before adapting.</summary>
    static (TinyDecoder Model, LoraModel Lora, Tensor BaseOut, Tensor Ids) Trained(int rank = 4)
    {
        var model = new TinyDecoder();
        var ids = TinyDecoder.SampleIds();
        var baseOut = model.forward(ids);
        var lora = LoraModel.Apply(model, new LoraOptions { Rank = rank, Alpha = 8 });
        using (no_grad())
            foreach (var (_, layer) in lora.Layers) layer.lora!.B.normal_(0, 0.2);
        return (model, lora, baseOut, ids);
    }

    [Fact]
    public void DisabledScopeGivesTheBaseExactlyAndRestoresOnDispose()
    {
        var (model, lora, baseOut, ids) = Trained();
        using var adapted = model.forward(ids);
        Assert.False(adapted.allclose(baseOut, 1e-3, 1e-3), "trained adapters must change the output, or this test proves nothing");

        using (lora.Disabled())
        {
            using var inside = model.forward(ids);
            TensorAssert.BitEqual(baseOut, inside);
        }
        using var afterwards = model.forward(ids);
        TensorAssert.BitEqual(adapted, afterwards);
    }

    [Fact]
    public void DisabledScopeRestoresAfterAnException()
    {
        var (model, lora, _, ids) = Trained();
        using var adapted = model.forward(ids);

        Assert.Throws<TimeoutException>((Action)(() =>
        {
            using (lora.Disabled()) throw new TimeoutException("reward server went away");
        }));

        using var afterwards = model.forward(ids);
        TensorAssert.BitEqual(adapted, afterwards);
        Assert.All(lora.Layers, l => Assert.True(l.Layer.lora!.Enabled));
    }

    [Fact]
    public void NestedScopesRestoreTheirOwnState()
    {
        var (model, lora, baseOut, ids) = Trained();
        var outer = lora.Disabled();
        using (lora.Disabled()) { }
        using (var inside = model.forward(ids)) TensorAssert.BitEqual(baseOut, inside, "output with the outer scope still open");
        outer.Dispose();
        outer.Dispose();  // a second dispose changes nothing
        Assert.All(lora.Layers, l => Assert.True(l.Layer.lora!.Enabled));
    }

    [Fact]
    public void MergedAndUnmergedOutputsAgree()
    {
        var (model, lora, _, ids) = Trained();
        using var unmerged = model.forward(ids);

        lora.Merge();
        using var merged = model.forward(ids);

        Assert.True(lora.IsMerged);
        Assert.True(merged.allclose(unmerged, rtol: 0, atol: 1e-5), $"max difference {(merged - unmerged).abs().max().item<float>()}");
    }

    [Fact]
    public void MergeAddsScaleTimesBATimesIntoTheWeight()
    {
        var (model, lora, _, _) = Trained(rank: 2);
        var layer = model.model.layers[0].self_attn.k_proj;
        var w = layer.Weight.data<float>().ToArray();
        var a = layer.lora!.A.data<float>().ToArray();
        var b = layer.lora!.B.data<float>().ToArray();

        lora.Merge();

        // W'[o, i] = W[o, i] + (8 / 2) * sum_k B[o, k] A[k, i], in float64; k_proj is [16, 32], r = 2.
        var merged = layer.Weight.data<float>().ToArray();
        for (var o = 0; o < 16; o++)
            for (var i = 0; i < 32; i++)
            {
                var expected = w[o * 32 + i] + 4.0 * (b[o * 2] * a[i] + b[o * 2 + 1] * a[32 + i]);
                Assert.Equal(expected, merged[o * 32 + i], 1e-5);
            }
    }

    [Fact]
    public void UnmergeRestoresTheBaseWeightsToFloatRounding()
    {
        var (model, lora, baseOut, ids) = Trained();
        var before = lora.Layers.Select(l => l.Layer.Weight.detach().clone()).ToList();

        lora.Merge();
        lora.Unmerge();

        for (var i = 0; i < before.Count; i++)
            Assert.True(lora.Layers[i].Layer.Weight.allclose(before[i], rtol: 0, atol: 1e-6), lora.Layers[i].Path);
        using (lora.Disabled())
        using (var reference = model.forward(ids))
            Assert.True(reference.allclose(baseOut, rtol: 0, atol: 1e-5));
    }

    [Fact]
    public void DisablingWhileMergedIsRefusedWithAClearError()
    {
        var (_, lora, _, _) = Trained();
        lora.Merge();

        var e = Assert.Throws<InvalidOperationException>(() => lora.Disabled());
        Assert.Contains("Unmerge()", e.Message);
        Assert.All(lora.Layers, l => Assert.True(l.Layer.lora!.Enabled));
    }

    [Fact]
    public void MergingInsideTheScopeOrTwiceIsRefused()
    {
        var (_, lora, _, _) = Trained();
        using (lora.Disabled())
            Assert.Throws<InvalidOperationException>(lora.Merge);
        lora.Merge();
        Assert.Throws<InvalidOperationException>(lora.Merge);
        lora.Unmerge();
        Assert.Throws<InvalidOperationException>(lora.Unmerge);
    }
}
