using static TorchSharp.torch;

namespace Grpo.GpuCheck;

/// <summary>
/// The device's measured bfloat16 matrix-product rate through TorchSharp, the denominator of MFU: the best over a few
/// square sizes of 2n³ FLOPs per product, timed over several products between device synchronisations, both as A·B
/// and as a linear layer's A·Bᵀ (libtorch may route the two differently; the model runs the second). The PyTorch peer
/// script measures its own the same way.
/// </summary>
internal static class MatmulCeiling
{
    /// <summary>FLOP/s: the best over <paramref name="sizes"/> and both layouts.</summary>
    public static double Measure(DeviceType device, int[] sizes, int repeats)
    {
        double best = 0;
        foreach (int n in sizes)
        {
            using var scope = NewDisposeScope();
            var a = randn(n, n, dtype: ScalarType.BFloat16, device: new Device(device));
            var b = randn(n, n, dtype: ScalarType.BFloat16, device: new Device(device));
            foreach (var product in new Func<Tensor>[] { () => a.matmul(b), () => nn.functional.linear(a, b) })
            {
                for (int i = 0; i < 3; i++) product().Dispose();  // warm-up: kernel selection, clocks
                var (_, seconds) = DeviceClock.Time(device, () =>
                {
                    for (int i = 0; i < repeats; i++) product().Dispose();
                    return 0;
                });
                best = Math.Max(best, 2.0 * n * n * n * repeats / seconds);
            }
        }
        return best;
    }
}
