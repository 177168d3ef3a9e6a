using TorchSharp;
using static TorchSharp.torch;

namespace Grpo.Modeling;

/// <summary>
/// Where a projection's weight keeps its values in memory. Its shape and values are always Hugging Face's [out, in]; on
/// the CPU in float32, a weight that widens its input (out &gt; in: the MLP's gate_proj and up_proj, the LM head, the
/// tied embedding) is stored as the transposed view of a contiguous [in, out] tensor (strides 1, out). <c>linear</c>
/// computes x · Wᵀ, and MKL's sgemm repacks a transposed right-hand operand on every call, which at decode's few rows
/// costs as much as the product itself; with this layout Wᵀ is the plain contiguous operand. Measured on the
/// Qwen2.5-0.5B shape (<c>decode --parts products,steps</c>, AVX2): a decode step takes 17 % less CPU time at batch 1
/// and 4-13 % less at batch 8 and 32. Narrowing weights (down_proj, k_proj, v_proj) and square ones measured no better
/// or slower, so they keep the row-major layout.
/// </summary>
/// <remarks>
/// Everything that reads a weight by its shape is unaffected: loading copies into it, saving writes it contiguous
/// (<see cref="SafetensorsFile.Write"/>), LoRA merges add into it, autograd and AdamW follow its strides. bfloat16 and
/// float16 keep row-major weights, since libtorch's CPU kernels for them are about ten times slower on the transposed
/// layout; so does every other device (cuBLAS reads both layouts at one speed, so there is nothing to win).
/// <see cref="CausalLM"/> lays its weights out again after <c>to()</c> changes their dtype or device.
/// </remarks>
internal static class WeightLayout
{
    /// <summary>Whether an [out, in] weight of this dtype on this device is stored column-major (as a view of [in, out]).</summary>
    public static bool ColumnMajor(long inFeatures, long outFeatures, ScalarType dtype, Device device) =>
        outFeatures > inFeatures && dtype == ScalarType.Float32 && device.type == DeviceType.CPU;

    /// <summary>An uninitialised [out, in] weight in the layout <see cref="ColumnMajor"/> picks.</summary>
    public static Tensor Empty(long inFeatures, long outFeatures, ScalarType dtype, Device device)
    {
        if (!ColumnMajor(inFeatures, outFeatures, dtype, device))
            return empty(outFeatures, inFeatures, dtype: dtype, device: device);
        using var stored = empty(inFeatures, outFeatures, dtype: dtype, device: device);
        return stored.t();
    }

    /// <summary>Moves <paramref name="weight"/> [out, in] into the layout its dtype and device call for, in place, keeping its values.</summary>
    public static void Apply(Tensor weight)
    {
        // Every handle made here is disposed before returning: one left to the garbage collector (a view that t()
        // makes of the old storage) would keep a second copy of the weight alive until the collector runs.
        using var scope = NewDisposeScope();
        long outFeatures = weight.shape[0], inFeatures = weight.shape[1];
        bool wanted = ColumnMajor(inFeatures, outFeatures, weight.dtype, weight.device);
        if (wanted ? weight.t().is_contiguous() : weight.is_contiguous()) return;
        using var noGrad = no_grad();
        weight.set_(wanted ? weight.t().contiguous().t() : weight.contiguous());
    }
}
