using System.Diagnostics;
using static TorchSharp.torch;

namespace Grpo.Benchmarks;

/// <summary>
/// What this machine can do through TorchSharp, the denominators of the other figures: the best matrix-product FLOP/s
/// over a few square sizes, both as A·B and as a linear layer's A·Bᵀ (libtorch may send the two to different GEMM
/// paths, and the model runs the second), and memory bandwidth from copying a tensor far
/// larger than the caches (bytes read + bytes written per second).
/// </summary>
internal static class MachineCeiling
{
    /// <summary>The best FLOP/s (2n³ per n×n product) over <paramref name="sizes"/> and both layouts, each the best of <paramref name="repeats"/> after a warm-up.</summary>
    public static (double FlopsPerSecond, int Size) Matmul(ScalarType dtype, int[] sizes, int repeats)
    {
        (double Flops, int Size) best = (0, 0);
        foreach (int n in sizes)
        {
            using var a = randn(n, n, dtype: dtype);
            using var b = randn(n, n, dtype: dtype);
            foreach (var product in new Func<Tensor>[] { () => a.matmul(b), () => nn.functional.linear(a, b) })
            {
                using (product()) { }
                for (int r = 0; r < repeats; r++)
                {
                    var watch = Stopwatch.StartNew();
                    using (product()) { }
                    double flops = 2.0 * n * n * n / watch.Elapsed.TotalSeconds;
                    if (flops > best.Flops) best = (flops, n);
                }
            }
        }
        return best;
    }

    /// <summary>Bytes read + written per second copying a float32 tensor of <paramref name="bytes"/> into another, best of <paramref name="repeats"/>.</summary>
    public static double Bandwidth(long bytes, int repeats)
    {
        using var source = ones(bytes / 4);
        using var target = zeros(bytes / 4);   // touched, so the first copy pays no page faults
        target.copy_(source);
        double best = 0;
        for (int r = 0; r < repeats; r++)
        {
            var watch = Stopwatch.StartNew();
            target.copy_(source);
            best = Math.Max(best, 2.0 * bytes / watch.Elapsed.TotalSeconds);
        }
        return best;
    }
}
