using Grpo.Lora;
using TorchSharp;
using TorchSharp.Modules;
using static TorchSharp.torch;

namespace Grpo.Modeling;

/// <summary>
/// A linear projection y = x Wᵀ + b, the model's own because TorchSharp's nn.Linear is sealed. (Placeholder
/// written by the lead so LoRA work can start; the model branch brings the real one with the same members.)
/// </summary>
public sealed class Linear : nn.Module<Tensor, Tensor>
{
#pragma warning disable IDE1006 // Hugging Face parameter names
    /// <summary>[out, in]</summary>
    public Parameter weight;
    /// <summary>[out], or null.</summary>
    public Parameter? bias;
#pragma warning restore IDE1006

    /// <summary>Creates an uninitialised projection (weights are loaded or initialised by the model).</summary>
    public Linear(long inFeatures, long outFeatures, bool hasBias = false, ScalarType dtype = ScalarType.Float32, Device? device = null)
        : base(nameof(Linear))
    {
        weight = new Parameter(empty(outFeatures, inFeatures, dtype, device));
        bias = hasBias ? new Parameter(zeros(outFeatures, dtype, device)) : null;
        RegisterComponents();
    }

    /// <summary>x: [..., in] -> [..., out]</summary>
    public override Tensor forward(Tensor x)
    {
        var y = nn.functional.linear(x, weight, bias);
        if (lora is not { IsActive: true }) return y;
        using var delta = lora.forward(x);
        return y.add_(delta);
    }

    // ---- LoRA slot (Grpo.Lora). Null on a plain projection; the model code never touches it. ----

#pragma warning disable IDE1006 // named like a submodule, because it is one ("<path>.lora.A", "<path>.lora.B")
    /// <summary>The low-rank adapter whose output the forward pass adds, or null. Attached by <see cref="LoraModel"/>.</summary>
    public LoraAdapter? lora { get; private set; }
#pragma warning restore IDE1006

    /// <summary>Attaches the adapter as submodule "lora", so it moves with to() and follows train() / eval().</summary>
    internal void AttachLora(LoraAdapter adapter)
    {
        register_module("lora", adapter);
        adapter.train(training);
        lora = adapter;
    }
}
