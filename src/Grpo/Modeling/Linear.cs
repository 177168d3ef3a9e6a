using Grpo.Lora;
using TorchSharp;
using TorchSharp.Modules;
using static TorchSharp.torch;

namespace Grpo.Modeling;

/// <summary>
/// y = x Wᵀ + b, with Hugging Face's parameter names (<c>weight</c> [out x in], optional <c>bias</c> [out]).
/// Every projection of <see cref="CausalLM"/> is one of these rather than TorchSharp's sealed <c>nn.Linear</c>,
/// so that adapters (LoRA) can hook into one class.
/// </summary>
public sealed class Linear : nn.Module<Tensor, Tensor>
{
    // Field names are the state-dict names: TorchSharp's RegisterComponents and Module.to() go by field name.
#pragma warning disable IDE1006
    private readonly Parameter weight;
    private readonly Parameter? bias;
#pragma warning restore IDE1006

    /// <summary>
    /// A projection from <paramref name="inFeatures"/> to <paramref name="outFeatures"/>. The weight is left
    /// uninitialised: a checkpoint or <see cref="CausalLM.Create"/> fills it.
    /// </summary>
    public Linear(long inFeatures, long outFeatures, bool hasBias, ScalarType dtype, Device device) : base(nameof(Linear))
    {
        weight = new Parameter(WeightLayout.Empty(inFeatures, outFeatures, dtype, device));
        bias = hasBias ? new Parameter(zeros(outFeatures, dtype: dtype, device: device)) : null;
        RegisterComponents();
    }

    /// <summary>
    /// The weight, [out x in]; column-major in memory where <see cref="WeightLayout"/> says so (<see cref="CausalLM"/>
    /// lays its projections out again after <c>to()</c>).
    /// </summary>
    public Parameter Weight => weight;

    /// <summary>The bias, [out], or null.</summary>
    public Parameter? Bias => bias;

    /// <summary>x [..., in] -> [..., out], plus the LoRA update when an adapter is attached and active.</summary>
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
