using TorchSharp;
using static TorchSharp.torch;

namespace Grpo.Modeling;

/// <summary>The SwiGLU feed-forward block: down_proj(silu(gate_proj(x)) * up_proj(x)), Hugging Face names.</summary>
public sealed class Mlp : nn.Module<Tensor, Tensor>
{
#pragma warning disable IDE1006
    private readonly Linear gate_proj, up_proj, down_proj;
#pragma warning restore IDE1006

    /// <summary>An MLP of width <see cref="ModelConfig.IntermediateSize"/>.</summary>
    public Mlp(ModelConfig config, ScalarType dtype, Device device) : base(nameof(Mlp))
    {
        gate_proj = new Linear(config.HiddenSize, config.IntermediateSize, config.MlpBias, dtype, device);
        up_proj = new Linear(config.HiddenSize, config.IntermediateSize, config.MlpBias, dtype, device);
        down_proj = new Linear(config.IntermediateSize, config.HiddenSize, config.MlpBias, dtype, device);
        RegisterComponents();
    }

    /// <summary>x [..., hidden] -> [..., hidden].</summary>
    public override Tensor forward(Tensor x)
    {
        using var scope = NewDisposeScope();
        var gated = nn.functional.silu(gate_proj.forward(x)).mul_(up_proj.forward(x));
        return down_proj.forward(gated).MoveToOuterDisposeScope();
    }
}
