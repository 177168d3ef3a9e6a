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
    public override Tensor forward(Tensor x) => nn.functional.linear(x, weight, bias);
}
