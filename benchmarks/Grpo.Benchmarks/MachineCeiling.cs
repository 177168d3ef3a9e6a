using System.Diagnostics;
using static TorchSharp.torch;

namespace Grpo.Benchmarks;

/// <summary>
/// What this machine can do through TorchSharp, the denominators of the other figures: the best matrix-product FLOP/s
/// over a few square sizes, both as A·B and as a linear layer's A·Bᵀ (libtorch may send the two to different GEMM
/// paths, and the model runs the second), and memory bandwidth over a tensor far larger than the caches: the better of
/// copying it (bytes read + bytes written per second) and multiplying it as a matrix by a vector (bytes read per
/// second). Decode only reads its weights, and a read-only stream runs faster than a copy, whose writes also cost a
/// read of each line; against the copy alone a float32 decode at batch 1 measured 121 % of its "bound".
/// </summary>
internal static class MachineCeiling
{
    /// <summary>The measured ceilings: matmul FLOP/s of each dtype and memory bandwidth in bytes per second.</summary>
    public sealed record Ceilings(double Float32, double BFloat16, double Bandwidth)
    {
        /// <summary>The matmul ceiling of <paramref name="dtype"/> (float32 or bfloat16).</summary>
        public double Matmul(ScalarType dtype) => dtype == ScalarType.BFloat16 ? BFloat16 : Float32;
    }

    /// <summary>Measures the float32 and bfloat16 matmul ceilings and the memory bandwidth, and adds a row for each to <paramref name="table"/>.</summary>
    public static Ceilings Measure(int[] sizes, int repeats, long copyBytes, ResultTable table)
    {
        var (fp32, fp32Size) = Matmul(ScalarType.Float32, sizes, repeats);
        var (bf16, bf16Size) = Matmul(ScalarType.BFloat16, sizes, repeats);
        var (copy, read) = (CopyBandwidth(copyBytes, repeats), ReadBandwidth(copyBytes, repeats));
        double bandwidth = Math.Max(copy, read);
        table.Row("ceiling", $"matmul float32 (best of n = {string.Join(", ", sizes)}, A·B and A·Bᵀ: n = {fp32Size})", ResultTable.Giga(fp32, "FLOP/s"), "—", "1 (the ceiling)");
        table.Row("ceiling", $"matmul bfloat16 (n = {bf16Size})", ResultTable.Giga(bf16, "FLOP/s"), $"float32 {ResultTable.Giga(fp32, "FLOP/s")}", $"{bf16 / fp32:F2}×");
        table.Row("ceiling", $"memory bandwidth ({copyBytes >> 20} MiB, the better of copy and matrix · vector)", ResultTable.Giga(bandwidth, "B/s"),
            $"copy (read + write) {ResultTable.Giga(copy, "B/s")}, matrix · vector (read) {ResultTable.Giga(read, "B/s")}", "1 (the ceiling)");
        return new Ceilings(fp32, bf16, bandwidth);
    }

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

    /// <summary>The better of <see cref="CopyBandwidth"/> and <see cref="ReadBandwidth"/>.</summary>
    public static double Bandwidth(long bytes, int repeats) => Math.Max(CopyBandwidth(bytes, repeats), ReadBandwidth(bytes, repeats));

    /// <summary>Bytes read + written per second copying a float32 tensor of <paramref name="bytes"/> into another, best of <paramref name="repeats"/>.</summary>
    public static double CopyBandwidth(long bytes, int repeats)
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

    /// <summary>
    /// Bytes read per second multiplying a square float32 matrix of <paramref name="bytes"/> by a vector (BLAS gemv,
    /// which streams the matrix once, as decode streams its weights), best of <paramref name="repeats"/>.
    /// </summary>
    public static double ReadBandwidth(long bytes, int repeats)
    {
        long n = (long)Math.Sqrt(bytes / 4.0);
        using var matrix = ones(n, n);
        using var vector = ones(n);
        using (matrix.mv(vector)) { }
        double best = 0;
        for (int r = 0; r < repeats; r++)
        {
            var watch = Stopwatch.StartNew();
            using (matrix.mv(vector)) { }
            best = Math.Max(best, 4.0 * n * n / watch.Elapsed.TotalSeconds);
        }
        return best;
    }
}
