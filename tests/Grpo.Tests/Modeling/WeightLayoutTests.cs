using System.Buffers.Binary;
using System.Text;
using System.Text.Json.Nodes;
using Grpo.Lora;
using Grpo.Modeling;
using TorchSharp;
using static TorchSharp.torch;

namespace Grpo.Tests.Modeling;

/// <summary>
/// Column-major storage of widening float32 weights on the CPU (<see cref="WeightLayout"/>): the files, the values and
/// the gradients are those of the row-major layout.
/// </summary>
public class WeightLayoutTests
{
    [Fact]
    public void WideFloat32WeightsAreColumnMajorAndTheRestRowMajor()
    {
        using var tied = Grpo.Modeling.CausalLM.Create(ModelConfig.Tiny("qwen2") with { TieWordEmbeddings = true }, 1);
        using var untied = Grpo.Modeling.CausalLM.Create(ModelConfig.Tiny("qwen3"), 1);
        // An untied embedding is only looked up, never multiplied: it stays row-major.
        var weights = tied.named_parameters().Concat(untied.named_parameters().Where(w => w.name != "model.embed_tokens.weight")).ToList();

        foreach (var (name, p) in weights.Where(w => w.parameter.dim() == 2))
        {
            bool wide = p.shape[0] > p.shape[1];
            Assert.True(wide ? p.stride().SequenceEqual([1L, p.shape[0]]) : p.is_contiguous(), $"{name} [{string.Join(", ", p.shape)}] strides [{string.Join(", ", p.stride())}]");
        }
        Assert.Contains(weights, w => w.name == "model.layers.0.mlp.up_proj.weight" && !w.parameter.is_contiguous());
        Assert.False(tied.LmHeadWeight.is_contiguous());   // the tied embedding, [vocab, hidden]
        Assert.False(untied.LmHeadWeight.is_contiguous());   // lm_head.weight
        Assert.True(untied.named_parameters().Single(w => w.name == "model.embed_tokens.weight").parameter.is_contiguous());
    }

    [Fact]
    public void LayingAWeightOutLeavesNoHandleToItsOldStorage()
    {
        // A handle left for the garbage collector would keep the old copy of the weight (545 MB for the 0.5B shape's
        // tied embedding) resident until the collector happens to run.
        using var weight = randn(12, 4);
        long before = DisposeScopeManager.Statistics.ThreadTotalLiveCount;
        WeightLayout.Apply(weight);
        Assert.Equal(before, DisposeScopeManager.Statistics.ThreadTotalLiveCount);
        Assert.Equal([1L, 12L], weight.stride());
    }

    [Fact]
    public void SavedFilesHoldRowMajorBytesAndSurviveARoundTripByteForByte()
    {
        var first = TestModels.TempFolder();
        var second = TestModels.TempFolder();
        using var model = Grpo.Modeling.CausalLM.Create(ModelConfig.Tiny("qwen2") with { TieWordEmbeddings = true }, 2);
        Checkpoint.Save(model, first);

        // Each tensor's bytes in the file, read by hand from the header's offsets, are the values in [out, in] order.
        var file = File.ReadAllBytes(Path.Combine(first, Checkpoint.WeightsFileName));
        var headerLength = (int)BinaryPrimitives.ReadUInt64LittleEndian(file);
        var header = JsonNode.Parse(Encoding.UTF8.GetString(file, 8, headerLength))!.AsObject();
        foreach (var (name, p) in model.named_parameters())
        {
            var offsets = header[name]!["data_offsets"]!.AsArray().Select(o => o!.GetValue<long>()).ToArray();
            var stored = new float[(offsets[1] - offsets[0]) / 4];
            Buffer.BlockCopy(file, 8 + headerLength + (int)offsets[0], stored, 0, stored.Length * 4);
            var expected = p.detach().flatten().data<float>().ToArray();   // flatten walks the logical [out, in] order
            Assert.True(expected.SequenceEqual(stored), $"{name} is not stored in row-major order");
        }

        using var reloaded = Checkpoint.Load(first);
        Assert.False(reloaded.LmHeadWeight.is_contiguous());
        Checkpoint.Save(reloaded, second);
        Assert.Equal(file, File.ReadAllBytes(Path.Combine(second, Checkpoint.WeightsFileName)));
    }

    [Fact]
    public void MovingToBfloat16AndBackRelaysTheWeightsKeepingTheirValues()
    {
        using var model = Grpo.Modeling.CausalLM.Create(ModelConfig.Tiny("qwen3"), 3);
        var up = model.named_parameters().Single(w => w.name == "model.layers.1.mlp.up_proj.weight").parameter;
        using var original = up.detach().clone();

        model.to(ScalarType.BFloat16);
        up = model.named_parameters().Single(w => w.name == "model.layers.1.mlp.up_proj.weight").parameter;
        Assert.True(up.is_contiguous());
        Assert.True(model.LmHeadWeight.is_contiguous());
        Assert.Equal(0, TestModels.MaxAbsDiff(original.to(ScalarType.BFloat16), up));

        model.to(ScalarType.Float32);
        up = model.named_parameters().Single(w => w.name == "model.layers.1.mlp.up_proj.weight").parameter;
        Assert.False(up.is_contiguous());
        Assert.False(model.LmHeadWeight.is_contiguous());
        Assert.Equal(0, TestModels.MaxAbsDiff(original.to(ScalarType.BFloat16).to(ScalarType.Float32), up));
    }

    [Theory]
    [InlineData(true)]
    [InlineData(false)]
    public void GradientsEqualThoseOfTheRowMajorLayoutInFloat64(bool lora)
    {
        // Float64 keeps row-major weights (WeightLayout lays out float32 only); the same model with every weight moved
        // to column-major by hand must give the same loss and gradients, adapters (LoRA) or full fine-tuning.
        var config = ModelConfig.Tiny("qwen2") with { TieWordEmbeddings = true };
        using var rowMajor = Grpo.Modeling.CausalLM.Create(config, 4, dtype: ScalarType.Float64);
        using var columnMajor = Grpo.Modeling.CausalLM.Create(config, 4, dtype: ScalarType.Float64);
        using (no_grad())
            foreach (var (_, p) in columnMajor.named_parameters().Where(w => w.parameter.dim() == 2))
                p.set_(p.t().contiguous().t());
        Assert.True(columnMajor.parameters().Where(p => p.dim() == 2).All(p => !p.is_contiguous()));

        var (rowLoss, rowGrads) = LossAndGradients(rowMajor, lora);
        var (columnLoss, columnGrads) = LossAndGradients(columnMajor, lora);
        Assert.Equal(rowLoss, columnLoss, 1e-12);
        Assert.Equal(rowGrads.Keys.Order(), columnGrads.Keys.Order());
        foreach (var (name, grad) in rowGrads)
            Assert.True(TestModels.MaxAbsDiff(grad, columnGrads[name]) <= 1e-12 * (1 + grad.abs().max().item<double>()), name);
    }

    [Fact]
    public void FullFineTuningStepsAndSavesItsOptimizerStateOverColumnMajorWeights()
    {
        using var model = Grpo.Modeling.CausalLM.Create(ModelConfig.Tiny("qwen2") with { TieWordEmbeddings = true }, 7);
        using var optimizer = new Grpo.Training.PolicyOptimizer(model.parameters().ToList(), new Grpo.Training.GrpoOptions { LearningRate = 1e-3 });
        using (var ids = TestModels.Ids(2, 5, model.Config.VocabSize, seed: 8))
        using (var loss = model.forward(ids).log_softmax(-1).mean().neg())
            loss.backward();
        optimizer.Step(1e-3);
        var path = Path.Combine(TestModels.TempFolder(), "optimizer.bin");
        optimizer.Save(path);
        optimizer.Load(path);
        Assert.False(model.LmHeadWeight.is_contiguous());
    }

    private static (double Loss, Dictionary<string, Tensor> Grads) LossAndGradients(Grpo.Modeling.CausalLM model, bool lora)
    {
        List<(string Name, TorchSharp.Modules.Parameter Parameter)> trained;
        if (lora)
        {
            var adapters = LoraModel.Apply(model, new LoraOptions { Rank = 4, Alpha = 8 });
            using var generator = new Generator(5);
            using (no_grad())
                foreach (var p in adapters.TrainableParameters().Where((_, i) => i % 2 == 1))
                    p.normal_(0, 0.1, generator);   // B is zero at start: give it values so every gradient flows
            trained = model.named_parameters().Where(w => w.parameter.requires_grad).Select(w => (w.name, w.parameter)).ToList();
        }
        else
            trained = model.named_parameters().Select(w => (w.name, w.parameter)).ToList();
        model.train();
        using var ids = TestModels.Ids(2, 7, model.Config.VocabSize, seed: 6);
        using var logits = model.forward(ids);
        using var loss = logits.log_softmax(-1).narrow(1, 0, 6).gather(-1, ids.narrow(1, 1, 6).unsqueeze(-1)).mean().neg();
        loss.backward();
        return (loss.item<double>(), trained.ToDictionary(t => t.Name, t => t.Parameter.grad!.detach().clone()));
    }
}
