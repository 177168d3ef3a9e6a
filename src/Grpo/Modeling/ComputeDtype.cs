using Grpo.Runtime;
using TorchSharp;
using static TorchSharp.torch;

namespace Grpo.Modeling;

/// <summary>
/// The dtype a model's weights are loaded in. By default the checkpoint's own (<c>torch_dtype</c> in config.json) where
/// the device computes in it natively, else float32: bfloat16 on a GPU or on a CPU with AVX512-BF16 / AMX-BF16 halves
/// the memory and doubles decoding speed, but a CPU without them (AVX2 only) emulates bfloat16 through float32 and
/// runs slower than float32 itself. float16 is kept on GPUs only, for the same reason.
/// </summary>
public static class ComputeDtype
{
    /// <summary>The names <see cref="Parse"/> accepts, as the <c>--dtype</c> option lists them.</summary>
    public static IReadOnlyList<string> Names { get; } = ["auto", "bfloat16", "float32", "float16"];

    /// <summary>
    /// The dtype named <paramref name="name"/> (bfloat16, float32, float16; PyTorch's short names bf16, fp32, fp16 too),
    /// or null for <c>auto</c>: the choice of <see cref="Default"/>. Throws <see cref="ArgumentException"/> for any other name.
    /// </summary>
    public static ScalarType? Parse(string name)
    {
        ArgumentNullException.ThrowIfNull(name);
        return name.Trim().ToLowerInvariant() switch
        {
            "auto" => null,
            "bfloat16" or "bf16" => ScalarType.BFloat16,
            "float32" or "fp32" => ScalarType.Float32,
            "float16" or "fp16" => ScalarType.Float16,
            _ => throw new ArgumentException($"Dtype '{name}' is not one of {string.Join(", ", Names)}."),
        };
    }

    /// <summary>
    /// The dtype to load a checkpoint saved in <paramref name="checkpointDtype"/> with on <paramref name="device"/>: the
    /// checkpoint's own on CUDA, bfloat16 on a CPU only with native bfloat16 (<see cref="CpuInfo.HasNativeBFloat16"/>),
    /// float32 otherwise.
    /// </summary>
    public static ScalarType Default(ScalarType checkpointDtype, Device device) =>
        Default(checkpointDtype, device, CpuInfo.Current);

    /// <summary>As <see cref="Default(ScalarType, Device)"/>, for the CPU described by <paramref name="cpu"/>.</summary>
    public static ScalarType Default(ScalarType checkpointDtype, Device device, CpuInfo cpu)
    {
        ArgumentNullException.ThrowIfNull(device);
        ArgumentNullException.ThrowIfNull(cpu);
        if (device.type == DeviceType.CUDA) return checkpointDtype;
        return checkpointDtype == ScalarType.BFloat16 && cpu.HasNativeBFloat16 ? ScalarType.BFloat16 : ScalarType.Float32;
    }
}
