using TorchSharp;
using static TorchSharp.torch;

namespace Grpo.Runtime;

/// <summary>
/// The device a model runs on, named as PyTorch names it: <c>cpu</c>, <c>cuda</c> (the first GPU) or <c>cuda:N</c>.
/// Checked against what the loaded TorchSharp build can do, so that asking for a GPU on the CPU-only package fails
/// with what to install instead of a native error deep inside the first tensor operation.
/// </summary>
public static class ComputeDevice
{
    /// <summary>
    /// The device named <paramref name="name"/> (case-insensitive). Throws <see cref="ArgumentException"/> for another
    /// name, and <see cref="NotSupportedException"/> when CUDA is asked for but this TorchSharp build has none or the
    /// GPU index is out of range.
    /// </summary>
    public static Device Parse(string name)
    {
        ArgumentNullException.ThrowIfNull(name);
        var text = name.Trim().ToLowerInvariant();
        if (text == "cpu") return CPU;
        int index = 0;
        if (text != "cuda" && !(text.StartsWith("cuda:", StringComparison.Ordinal)
                                && int.TryParse(text.AsSpan(5), System.Globalization.NumberStyles.None, System.Globalization.CultureInfo.InvariantCulture, out index)))
            throw new ArgumentException($"Device '{name}' is not one of cpu, cuda or cuda:N (N the GPU's index, from 0).");
        if (!cuda.is_available())
            throw new NotSupportedException(
                $"Device '{name}' needs CUDA, but the TorchSharp in use has no CUDA support (or finds no NVIDIA driver). " +
                "Reference TorchSharp-cuda-linux (or TorchSharp-cuda-windows) instead of TorchSharp-cpu, with an NVIDIA driver installed, or use cpu.");
        int count = cuda.device_count();
        if (index >= count)
            throw new NotSupportedException($"Device '{name}' does not exist: CUDA sees {count} GPU(s), cuda:0 to cuda:{count - 1}.");
        return new Device(DeviceType.CUDA, index);
    }
}
