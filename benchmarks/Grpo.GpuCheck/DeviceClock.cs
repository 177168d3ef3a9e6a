using System.Diagnostics;
using static TorchSharp.torch;

namespace Grpo.GpuCheck;

/// <summary>
/// Wall-clock seconds of work on a device. CUDA kernels run asynchronously, so the clock waits for the device
/// (<c>torch.cuda.synchronize</c>) before it starts and before it reads, as the PyTorch peer script does.
/// </summary>
internal static class DeviceClock
{
    /// <summary>Seconds <paramref name="work"/> took on <paramref name="device"/>, and its result.</summary>
    public static (T Result, double Seconds) Time<T>(DeviceType device, Func<T> work)
    {
        Synchronize(device);
        var watch = Stopwatch.StartNew();
        var result = work();
        Synchronize(device);
        return (result, watch.Elapsed.TotalSeconds);
    }

    /// <summary>Waits for every queued kernel on a CUDA device; nothing to wait for on the CPU.</summary>
    public static void Synchronize(DeviceType device)
    {
        if (device == DeviceType.CUDA) cuda.synchronize();
    }
}
