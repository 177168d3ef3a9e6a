using Grpo.Lora;
using TorchSharp;
using TorchSharp.Modules;
using static TorchSharp.torch;

namespace Grpo.Modeling;

/// <summary>
/// Activation (gradient) checkpointing of one decoder layer (Chen et al. 2016, arXiv:1604.06174; Transformers'
/// <c>gradient_checkpointing</c>): the forward pass runs without building a graph and keeps only the layer's input; the
/// backward pass runs the layer again with a graph and differentiates that. A policy pass then holds one layer's
/// activations at a time instead of all of them, for one more forward pass of compute.
/// </summary>
/// <remarks>
/// A TorchSharp custom autograd function attaches to the graph only when one of its tensor inputs requires a gradient.
/// With a frozen base the layer's input may not (the first layer's comes from a frozen embedding), so the layer's
/// trainable weights (its LoRA A and B, or every weight in full fine-tuning) are passed as inputs too, and their
/// gradients are returned from the recomputation. Dropout in the layer (LoRA's) draws from TorchSharp's default
/// generator: its state is saved before the forward pass and restored around the recomputation, so the recomputed
/// masks are the ones the forward pass drew, and the caller's generator is left as it was.
/// </remarks>
internal sealed class ActivationCheckpoint : autograd.MultiTensorFunction<ActivationCheckpoint>
{
    // Gradients handed to libtorch by the last backward call on this thread. libtorch takes its own reference when the
    // call returns, so they are disposed at the next call: left to the caller's dispose scope, every layer's input
    // gradient ([B, T, hidden]) would stay alive until the micro-batch ends.
    [ThreadStatic] private static List<Tensor>? s_handedOver;

    /// <inheritdoc/>
    public override string Name => nameof(ActivationCheckpoint);

    /// <summary>What the recomputation needs besides the saved tensors.</summary>
    private sealed class Call(DecoderLayer layer, Tensor cos, Tensor sin, Tensor mask, bool inputNeedsGrad, Parameter[] trainable)
    {
        public DecoderLayer Layer { get; } = layer;
        // cos, sin and mask as the forward pass got them; the backward pass unpacks its saved copies, since the
        // caller's dispose scope has freed these wrappers by then.
        public Tensor[] Shared { get; } = [cos, sin, mask];
        public bool InputNeedsGrad { get; } = inputNeedsGrad;
        public Parameter[] Trainable { get; } = trainable;
        public Tensor? RandomState { get; set; }
    }

    /// <summary>
    /// Checkpoints every decoder layer of <paramref name="model"/> until the returned scope is disposed, which restores
    /// each layer's previous setting. Only training forward passes with gradients are affected.
    /// </summary>
    public static IDisposable Enable(CausalLM model)
    {
        var layers = model.modules().OfType<DecoderLayer>().ToArray();
        var before = layers.Select(l => l.Checkpointed).ToArray();
        foreach (var layer in layers) layer.Checkpointed = true;
        return new Restore(() =>
        {
            for (int i = 0; i < layers.Length; i++) layers[i].Checkpointed = before[i];
        });
    }

    private sealed class Restore(Action undo) : IDisposable
    {
        public void Dispose() => undo();
    }

    /// <summary>
    /// <paramref name="layer"/>'s output for <paramref name="x"/> [B, T, hidden] (no KV cache), checkpointed. Call it in
    /// training with gradients enabled; elsewhere there is nothing to save.
    /// </summary>
    /// <exception cref="InvalidOperationException">LoRA dropout off the CPU (<see cref="EnsureReplayable"/>).</exception>
    public static Tensor Run(DecoderLayer layer, Tensor x, Tensor cos, Tensor sin, Tensor mask)
    {
        EnsureReplayable(layer, x.device);
        var trainable = layer.parameters().Where(p => p.requires_grad).ToArray();
        object[] args = [new Call(layer, cos, sin, mask, x.requires_grad, trainable), x, .. trainable];
        return apply(args)[0];
    }

    /// <summary>
    /// Throws when <paramref name="module"/> holds LoRA dropout on a device other than the CPU: TorchSharp 0.107 cannot
    /// save that device's random state, so the recomputed dropout would differ from the forward pass's.
    /// </summary>
    public static void EnsureReplayable(nn.Module module, Device device)
    {
        if (device.type != DeviceType.CPU && module.modules().OfType<LoraAdapter>().Any(a => a.Dropout > 0))
            throw new InvalidOperationException(
                $"Gradient checkpointing cannot replay LoRA dropout on {device.type}: TorchSharp 0.107 cannot save that device's " +
                "random state. Set LoraOptions.Dropout to 0, or GrpoOptions.GradientCheckpointing to false.");
    }

    /// <inheritdoc/>
    public override List<Tensor> forward(autograd.AutogradContext ctx, params object[] vars)
    {
        var call = (Call)vars[0];
        var x = (Tensor)vars[1];
        ctx.save_for_backward([x, .. call.Shared]);
        // Kept past the caller's dispose scope: the backward pass, maybe much later, restores it.
        call.RandomState = random.get_rng_state().DetachFromDisposeScope();
        ctx.save_data(nameof(Call), call);
        return [call.Layer.Block(x, call.Shared[0], call.Shared[1], call.Shared[2], null)];
    }

    /// <inheritdoc/>
    public override List<Tensor> backward(autograd.AutogradContext ctx, List<Tensor> grad_outputs)
    {
        s_handedOver?.ForEach(t => t.Dispose());
        s_handedOver = [];
        var call = (Call)ctx.get_data(nameof(Call));
        using var scope = NewDisposeScope();
        var saved = ctx.get_saved_variables();   // x, cos, sin, mask
        var x = saved[0].detach().requires_grad_(call.InputNeedsGrad);
        Tensor output;
        using (var callersState = random.get_rng_state())
        {
            random.set_rng_state(call.RandomState!);
            using (enable_grad())
                output = call.Layer.Block(x, saved[1], saved[2], saved[3], null);
            random.set_rng_state(callersState);
        }
        call.RandomState!.Dispose();

        Tensor[] inputs = call.InputNeedsGrad ? [x, .. call.Trainable] : [.. call.Trainable];
        var grads = autograd.grad([output], inputs, [grad_outputs[0]]).Select(g => g.DetachFromDisposeScope()).ToList();
        s_handedOver.AddRange(grads);
        // TorchSharp wraps the incoming gradient in the caller's dispose scope, which lives until the micro-batch ends;
        // libtorch holds its own reference, so the wrapper can go now.
        grad_outputs.ForEach(g => g.Dispose());
        // One gradient per argument of Run: none for the call itself, none for an input that needs none.
        var inputGrad = call.InputNeedsGrad ? grads[0] : null;
        return [null!, inputGrad!, .. grads.Skip(call.InputNeedsGrad ? 1 : 0)];
    }
}
