using Grpo.Lora;
using Grpo.Modeling;
using static TorchSharp.torch;

namespace Grpo.Tests.Modeling;

/// <summary>
/// <see cref="ActivationCheckpoint"/>: recomputing each layer in the backward pass gives the loss and gradients of the
/// plain pass (float64, 1e-10), LoRA dropout included, and leaves the caller's random generator where the plain pass does.
/// </summary>
[Collection(nameof(Training.GlobalRandomState))]
public class ActivationCheckpointTests
{
    [Theory]
    [InlineData(0.0, true)]
    [InlineData(0.3, true)]
    [InlineData(0.0, false)]   // full fine-tuning: every weight trains, so even the first layer's input needs a gradient
    public void CheckpointedPassHasThePlainLossAndGradients(double dropout, bool lora)
    {
        var (plainLoss, plainGrads, plainNext) = Pass(dropout, lora, checkpointed: false);
        var (loss, grads, next) = Pass(dropout, lora, checkpointed: true);

        Assert.Equal(plainLoss, loss, 1e-10);
        Assert.Equal(plainGrads.Length, grads.Length);
        Assert.True(plainGrads.Max(Math.Abs) > 1e-4, "the pass must produce gradients for the comparison to mean anything");
        for (int i = 0; i < grads.Length; i++)
            Assert.Equal(plainGrads[i], grads[i], 1e-10);
        Assert.Equal(plainNext, next);   // the generator continues where the plain pass left it
    }

    [Fact]
    public void DropoutReallyDrawsInThePass()
    {
        // Guards the dropout case above: with dropout the loss differs from the pass without, so masks were drawn (and replayed).
        Assert.NotEqual(Pass(0.0, true, checkpointed: true).Loss, Pass(0.3, true, checkpointed: true).Loss, 1e-6);
    }

    /// <summary>A padded batch through a float64 model in training mode: loss, every trainable weight's gradient, the next random draw.</summary>
    static (double Loss, double[] Grads, double Next) Pass(double dropout, bool lora, bool checkpointed)
    {
        using var scope = NewDisposeScope();
        var model = CausalLM.Create(ModelConfig.Tiny("qwen2", vocabSize: 64), seed: 3, dtype: ScalarType.Float64);
        IReadOnlyList<TorchSharp.Modules.Parameter> trainable;
        if (lora)
        {
            var adapter = LoraModel.Apply(model, new LoraOptions { Rank = 4, Dropout = dropout, Seed = 2 });
            using (no_grad())
            {
                using var generator = new Generator(8, CPU);
                foreach (var (_, b) in model.named_parameters().Where(p => p.name.EndsWith(".lora.B", StringComparison.Ordinal)))
                    b.copy_(randn(b.shape, dtype: ScalarType.Float64, generator: generator) * 0.1);
            }
            trainable = adapter.TrainableParameters();
        }
        else
            trainable = model.parameters().ToList();

        var ids = tensor(new long[] { 0, 0, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14 }, [2, 6]);
        var attention = tensor(new long[] { 0, 0, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1 }, [2, 6]);
        using var weights = new Generator(4, CPU);
        var probe = randn([2, 6, 96], dtype: ScalarType.Float64, generator: weights);

        model.train();
        random.manual_seed(11);   // the dropout masks
        using var checkpointing = checkpointed ? ActivationCheckpoint.Enable(model) : null;
        var loss = (model.HiddenStates(ids, attention) * probe).pow(2).sum();
        loss.backward();
        // A weight the hidden states do not use (an untied LM head) has no gradient either way.
        var grads = cat(trainable.Where(p => p.grad is not null).Select(p => p.grad!.flatten()).ToArray()).data<double>().ToArray();
        return (loss.item<double>(), grads, rand(1, dtype: ScalarType.Float64).item<double>());
    }
}
