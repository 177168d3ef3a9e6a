using Grpo.Lora;
using static TorchSharp.torch;
using Linear = Grpo.Modeling.Linear;

namespace Grpo.Tests.Lora;

/// <summary>Injection: which layers, initial values, what is frozen, where gradients go.</summary>
public class LoraApplyTests
{
    static readonly string[] SevenProjections =
        ["self_attn.q_proj", "self_attn.k_proj", "self_attn.v_proj", "self_attn.o_proj", "mlp.gate_proj", "mlp.up_proj", "mlp.down_proj"];

    [Fact]
    public void DefaultTargetsAreTheSevenProjectionsOfEveryLayer()
    {
        using var model = new TinyDecoder();
        var lora = LoraModel.Apply(model, new LoraOptions());

        var expected = new[] { 0, 1 }.SelectMany(i => SevenProjections.Select(p => $"model.layers.{i}.{p}")).Order();
        Assert.Equal(expected, lora.Layers.Select(l => l.Path).Order());
        Assert.All(lora.Layers, l => Assert.Same(l.Layer, model.named_modules().Single(m => m.name == l.Path).module));
        Assert.Null(model.lm_head.lora);
    }

    [Fact]
    public void AllLinearTakesEveryLinearButTheOutputHead()
    {
        using var model = new TinyDecoder();
        var lora = LoraModel.Apply(model, new LoraOptions { TargetModules = [LoraOptions.AllLinear] });

        Assert.Equal(14, lora.Layers.Count);
        Assert.DoesNotContain(lora.Layers, l => l.Path == "lm_head");
    }

    [Fact]
    public void ADottedTargetSelectsByPathSuffixOnly()
    {
        using var model = new TinyDecoder();
        var lora = LoraModel.Apply(model, new LoraOptions { TargetModules = ["self_attn.q_proj", "lm_head"] });

        Assert.Equal(new[] { "lm_head", "model.layers.0.self_attn.q_proj", "model.layers.1.self_attn.q_proj" }, lora.Layers.Select(l => l.Path).Order());
    }

    [Fact]
    public void OutputEqualsTheBaseExactlyAtInitialisation()
    {
        using var model = new TinyDecoder();
        using var ids = TinyDecoder.SampleIds();
        using var before = model.forward(ids);

        LoraModel.Apply(model, new LoraOptions { Rank = 4, Alpha = 16 });
        using var after = model.forward(ids);

        TensorAssert.BitEqual(before, after, "the adapted model's output before training");
    }

    [Fact]
    public void AIsKaimingUniformAndBIsZero()
    {
        using var model = new TinyDecoder(intermediate: 256);
        var lora = LoraModel.Apply(model, new LoraOptions { Rank = 16 });

        // kaiming_uniform_ with a = sqrt(5): gain sqrt(2 / (1 + 5)), bound = gain * sqrt(3 / fan_in) = 1 / sqrt(fan_in).
        var down = model.model.layers[0].mlp.down_proj.lora!;
        var values = down.A.data<float>().ToArray();
        var bound = 1 / Math.Sqrt(256);
        Assert.All(values, v => Assert.InRange(v, -bound, bound));
        // Uniform on [-b, b]: standard deviation b / sqrt(3). 4096 draws put the sample's within a few percent.
        var mean = values.Average(v => (double)v);
        var std = Math.Sqrt(values.Average(v => (v - mean) * (v - mean)));
        Assert.InRange(std, 0.95 * bound / Math.Sqrt(3), 1.05 * bound / Math.Sqrt(3));
        Assert.All(lora.Layers, l => Assert.True(l.Layer.lora!.B.count_nonzero().item<long>() == 0));
    }

    [Fact]
    public void BaseIsFrozenAndOnlyAdaptersTrain()
    {
        using var model = new TinyDecoder();
        var lora = LoraModel.Apply(model, new LoraOptions { Rank = 4 });

        var trainable = model.named_parameters().Where(p => p.parameter.requires_grad).Select(p => p.name).ToList();
        Assert.Equal(28, trainable.Count);
        Assert.All(trainable, name => Assert.Matches(@"\.lora\.(A|B)$", name));
        Assert.Equal(trainable.Count, lora.TrainableParameters().Count);
    }

    [Fact]
    public void TrainableCountIsRankTimesInPlusOutPerLayer()
    {
        using var model = new TinyDecoder();
        var lora = LoraModel.Apply(model, new LoraOptions { Rank = 4 });

        // Per layer (in, out) from the fixture sizes: q 32->32, k 32->16, v 32->16, o 32->32, gate 32->64, up 32->64, down 64->32.
        (int In, int Out)[] shapes = [(32, 32), (32, 16), (32, 16), (32, 32), (32, 64), (32, 64), (64, 32)];
        var perBlock = shapes.Sum(s => 4 * (s.In + s.Out));
        Assert.Equal(2 * perBlock, lora.TrainableParameterCount);
        Assert.Equal(2 * 2048, lora.TrainableParameterCount);
    }

    [Fact]
    public void GradientsReachOnlyAdapterWeights()
    {
        using var model = new TinyDecoder();
        var lora = LoraModel.Apply(model, new LoraOptions { Rank = 4 });
        using (no_grad())
            foreach (var (_, layer) in lora.Layers) layer.lora!.B.normal_(0, 0.1);  // with B = 0, A's gradient would be 0

        using var ids = TinyDecoder.SampleIds();
        using var loss = model.forward(ids).square().mean();
        loss.backward();

        foreach (var (name, p) in model.named_parameters())
        {
            if (p.requires_grad)
                Assert.True(p.grad is not null && p.grad.abs().sum().item<float>() > 0, $"{name} should get a non-zero gradient");
            else
                Assert.True(p.grad is null, $"{name} is frozen and must get no gradient");
        }
    }

    [Fact]
    public void AdaptersOnAModelInEvalModeStartInEvalMode()
    {
        using var model = new TinyDecoder();
        model.eval();
        var lora = LoraModel.Apply(model, new LoraOptions { Dropout = 0.5 });

        Assert.All(lora.Layers, l => Assert.False(l.Layer.lora!.training));
        model.train();
        Assert.All(lora.Layers, l => Assert.True(l.Layer.lora!.training));
    }
}
