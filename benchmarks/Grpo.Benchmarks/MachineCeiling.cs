using System.Diagnostics;
using static TorchSharp.torch;

namespace Grpo.Benchmarks;

/// <summary>
/// What this machine can do through TorchSharp, the denominators of the other figures: the best matrix-product FLOP/s
/// over a few square sizes (libtorch's own GEMM at its best shape), and memory bandwidth from copying a tensor far
/// larger than the caches (bytes read + bytes written per second).
/// </summary>
internal static class MachineCeiling
{
    /// <summary>The best FLOP/s (2n³ per n×n product) over <paramref name="sizes"/>, each the best of <paramref name="repeats"/> after a warm-up.</summary>
    public static (double FlopsPerSecond, int Size) Matmul(ScalarType dtype, int[] sizes, int repeats)
    {
        (double Flops, int Size) best = (0, 0);
        foreach (int n in sizes)
        {
            using var a = randn(n, n, dtype: dtype);
            using var b = randn(n, n, dtype: dtype);
            using (a.matmul(b)) { }
            for (int r = 0; r < repeats; r++)
            {
                var watch = Stopwatch.StartNew();
                using (a.matmul(b)) { }
                double flops = 2.0 * n * n * n / watch.Elapsed.TotalSeconds;
                if (flops > best.Flops) best = (flops, n);
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
