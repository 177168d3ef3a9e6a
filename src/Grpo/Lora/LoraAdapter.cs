using TorchSharp;
using TorchSharp.Modules;
using static TorchSharp.torch;

namespace Grpo.Lora;

/// <summary>
/// The low-rank update of one linear layer: scale · B · A · dropout(x), added by <see cref="Grpo.Modeling.Linear"/>
/// to its own output. Kept as a submodule of that layer so it moves with the model and follows train() / eval().
/// </summary>
public sealed class LoraAdapter : nn.Module<Tensor, Tensor>
{
#pragma warning disable IDE1006 // LoRA's own names
    /// <summary>Down-projection A: [r, in], trainable.</summary>
    public Parameter A;
    /// <summary>Up-projection B: [out, r], trainable.</summary>
    public Parameter B;
#pragma warning restore IDE1006

    /// <summary>The factor on B·A·x: alpha / r, or alpha / sqrt(r) for rsLoRA.</summary>
    public double Scale { get; }

    /// <summary>Dropout probability on the adapter's input, applied in training mode only.</summary>
    public double Dropout { get; }

    /// <summary>False inside <see cref="LoraModel.Disabled"/>: the layer then computes the base projection alone.</summary>
    public bool Enabled { get; internal set; } = true;

    /// <summary>True while scale·B·A is folded into the base weight, so the forward pass must not add it again.</summary>
    public bool Merged { get; internal set; }

    /// <summary>Whether the owning layer adds this adapter's output.</summary>
    public bool IsActive => Enabled && !Merged;

    /// <summary>
    /// An adapter for a layer with weight [out, in], in <paramref name="dtype"/> (<see cref="DtypeFor"/> of the weight's)
    /// on the weight's device. A is Kaiming-uniform with
    /// a = sqrt(5) (bound 1/sqrt(in)) and B is zero, as PEFT initialises them, so the adapted layer starts equal to the base.
    /// </summary>
    public LoraAdapter(long inFeatures, long outFeatures, int rank, double scale, double dropout, ScalarType dtype, Device device)
        : base(nameof(LoraAdapter))
    {
        using (no_grad())
        {
            // Drawn on the CPU in float32 whatever the layer's device and dtype, so a seed gives the same adapter everywhere.
            using var a = empty(rank, inFeatures, ScalarType.Float32);
            nn.init.kaiming_uniform_(a, a: Math.Sqrt(5));
            A = new Parameter(a.to(dtype, device));
        }
        B = new Parameter(zeros(outFeatures, rank, dtype, device));
        Scale = scale;
        Dropout = dropout;
        RegisterComponents();
    }

    /// <summary>
    /// The adapter's dtype for a base weight of <paramref name="baseDtype"/>: float32 for half-precision bases (bfloat16,
    /// float16), whose rounding would swallow small updates to A and B and to AdamW's moments, else the base's own.
    /// PEFT does the same by default (<c>autocast_adapter_dtype=True</c>), and saves the adapter in that dtype.
    /// </summary>
    public static ScalarType DtypeFor(ScalarType baseDtype) =>
        baseDtype is ScalarType.BFloat16 or ScalarType.Float16 ? ScalarType.Float32 : baseDtype;

    /// <summary>
    /// x: [..., in] -> scale · B · A · dropout(x): [..., out], in x's dtype. A half-precision x is widened to the
    /// adapter's dtype first and the update narrowed back, as PEFT's <c>_cast_input_dtype</c> does, so the low-rank
    /// product is computed, and its gradients taken, in float32.
    /// </summary>
    public override Tensor forward(Tensor x)
    {
        if (x.dtype == A.dtype) return Update(x);
        using var wide = x.to(A.dtype);
        using var update = Update(wide);
        return update.to(x.dtype);
    }

    Tensor Update(Tensor x)
    {
        using var down = Dropout > 0 && training ? DropThenDown(x) : nn.functional.linear(x, A);  // [..., r]
        return nn.functional.linear(down, B).mul_(Scale);                                           // [..., out]
    }

    Tensor DropThenDown(Tensor x)
    {
        using var dropped = nn.functional.dropout(x, Dropout, training: true);
        return nn.functional.linear(dropped, A);
    }
}
