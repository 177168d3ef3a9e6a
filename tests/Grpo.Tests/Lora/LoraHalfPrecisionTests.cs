using Grpo.Lora;
using Grpo.Modeling;
using Grpo.Tests.Modeling;
using static TorchSharp.torch;

namespace Grpo.Tests.Lora;

/// <summary>
/// LoRA over a bfloat16 base, as PEFT does it by default (<c>autocast_adapter_dtype=True</c>): A and B in float32,
/// the input widened and the update narrowed back, the adapter saved as float32.
/// </summary>
[Collection(nameof(Grpo.Tests.Training.GlobalRandomState))]
public class LoraHalfPrecisionTests
{
    static (Grpo.Modeling.CausalLM Model, LoraModel Lora) Adapted()
    {
        var model = TestModels.Random(ModelConfig.Tiny("qwen3"), seed: 5, dtype: ScalarType.BFloat16);
        var lora = LoraModel.Apply(model, new LoraOptions { Rank = 4, Alpha = 8, Seed = 2 });
        using var noGrad = no_grad();
        using var generator = new Generator(7, CPU);
        foreach (var p in lora.Layers.Select(l => l.Layer.lora!.B)) p.copy_(randn(p.shape, generator: generator).mul_(0.1));
        return (model, lora);
    }

    [Fact]
    public void AdaptersAreFloat32WhileTheBaseStaysBFloat16()
    {
        var (model, lora) = Adapted();
        Assert.All(lora.TrainableParameters(), p => Assert.Equal(ScalarType.Float32, p.dtype));
        Assert.All(lora.Layers, l => Assert.Equal(ScalarType.BFloat16, l.Layer.Weight.dtype));
        using var logits = model.forward(TestModels.Ids(1, 5, model.Config.VocabSize, seed: 3));
        Assert.Equal(ScalarType.BFloat16, logits.dtype);
        model.Dispose();
    }

    [Fact]
    public void TheUpdateIsComputedInFloat32AndAddedToTheBFloat16Output()
    {
        var (model, lora) = Adapted();
        var (_, layer) = lora.Layers[0];
        var adapter = layer.lora!;
        using var generator = new Generator(11, CPU);
        using var x = randn([3, layer.Weight.shape[1]], generator: generator).to(ScalarType.BFloat16).requires_grad_();
        using var y = layer.forward(x);
        Tensor off;
        using (lora.Disabled()) off = layer.forward(x).detach();

        // scale · (x A^T) B^T in float64 from the same bfloat16 input.
        using var x64 = x.detach().to(ScalarType.Float64);
        using var delta64 = x64.matmul(adapter.A.detach().to(ScalarType.Float64).t()).matmul(adapter.B.detach().to(ScalarType.Float64).t()).mul(adapter.Scale);
        using var y64 = y.detach().to(ScalarType.Float64);
        using var off64 = off.to(ScalarType.Float64);
        // Narrowing the update and adding it each round once to bfloat16 (8 significant bits): at most 2^-9 of |update|
        // and 2^-9 of |sum|; the bound allows twice that.
        using var bound = delta64.abs().add(y64.abs()).mul(Math.Pow(2, -8));
        using var error = y64.sub(off64).sub(delta64).abs();
        Assert.True(error.le(bound).all().item<bool>(), $"largest error {error.max().item<double>()}");
        Assert.True(delta64.abs().max().item<double>() > 0.01, "the update is large enough to show");

        y.to(ScalarType.Float32).sum().backward();
        Assert.Equal(ScalarType.Float32, adapter.A.grad!.dtype);
        Assert.Equal(ScalarType.Float32, adapter.B.grad!.dtype);
        Assert.Equal(ScalarType.BFloat16, x.grad!.dtype);
        off.Dispose();
        model.Dispose();
    }

    [Fact]
    public void AnAdapterOverABFloat16BaseIsSavedAsFloat32AndLoadsBackBitForBit()
    {
        var (model, lora) = Adapted();
        var folder = TestModels.TempFolder();
        lora.Save(folder);
        var file = new SafetensorsFile(Path.Combine(folder, PeftAdapterWeights.FileName));
        Assert.All(file.Entries.Values, e => Assert.Equal("F32", e.Dtype));

        using var fresh = TestModels.Random(ModelConfig.Tiny("qwen3"), seed: 5, dtype: ScalarType.BFloat16);
        var loaded = LoraModel.Load(fresh, folder);
        foreach (var ((_, saved), (_, back)) in lora.Layers.Zip(loaded.Layers))
        {
            Assert.Equal(ScalarType.Float32, back.lora!.A.dtype);
            TensorAssert.BitEqual(saved.lora!.A, back.lora.A);
            TensorAssert.BitEqual(saved.lora!.B, back.lora.B);
        }
        model.Dispose();
        Directory.Delete(folder, recursive: true);
    }
}
