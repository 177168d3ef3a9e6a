using TorchSharp;
using TorchSharp.Modules;
using static TorchSharp.torch;

namespace Grpo.Modeling;

/// <summary>
/// Root-mean-square layer norm: x / sqrt(mean(x²) + eps) * weight over the last dimension. Computed in float32 (float64
/// for float64 models) and
/// cast back, as transformers' Qwen2RMSNorm / LlamaRMSNorm do, so bfloat16 models normalise accurately.
/// </summary>
public sealed class RmsNorm : nn.Module<Tensor, Tensor>
{
#pragma warning disable IDE1006
    private readonly Parameter weight;
#pragma warning restore IDE1006
    private readonly double _eps;

    /// <summary>A norm over vectors of width <paramref name="size"/>, weight initialised to ones.</summary>
    public RmsNorm(long size, double eps, ScalarType dtype, Device device) : base(nameof(RmsNorm))
    {
        weight = new Parameter(ones(size, dtype: dtype, device: device));
        _eps = eps;
        RegisterComponents();
    }

    /// <summary>x [..., size] -> same shape and dtype.</summary>
    public override Tensor forward(Tensor x)
    {
        using var scope = NewDisposeScope();
        var wide = x.to(x.dtype == ScalarType.Float64 ? ScalarType.Float64 : ScalarType.Float32); // at least float32
        var normed = wide * wide.pow(2).mean([-1], keepdim: true).add_(_eps).rsqrt_();
        return (weight * normed.to(x.dtype)).MoveToOuterDisposeScope();
    }
}
