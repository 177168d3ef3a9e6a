using System.Diagnostics;
using Grpo.Modeling;
using Grpo.Sampling;
using TorchSharp;
using static TorchSharp.torch;

namespace Grpo.Benchmarks;

/// <summary>
/// Decode speed on the Qwen2.5-0.5B shape (random weights, the real 151,936-token vocabulary), for deciding how the
/// decode step should be built: the weight-layout alternatives of the decode products, token selection (the
/// candidate-set <see cref="TokenSampler"/> against the full-sort rule it replaced), and whole <see cref="DecodeEngine"/>
/// steps at batch 1, 8 and 32 in float32 and bfloat16 against the roofline bound
/// max(weight bytes / memory bandwidth (the better of copy and read), 2 x weights x rows / matmul rate), for each torch thread count asked for.
/// bfloat16 is emulated, and slow, on a CPU without avx512_bf16 or AMX; --float32-only skips its steps there.
///   dotnet run -c Release --project benchmarks/Grpo.Benchmarks -- decode [--threads 1,2] [--steps 8] [--batches 1,8,32]
///       [--parts products,selection,steps] [--float32-only]
/// </summary>
public static class DecodeSpeed
{
    /// <summary>Qwen2.5-0.5B(-Instruct)'s config.json, field by field.</summary>
    public static ModelConfig Qwen05 => new()
    {
        ModelType = "qwen2", VocabSize = 151936, HiddenSize = 896, IntermediateSize = 4864, NumHiddenLayers = 24,
        NumAttentionHeads = 14, NumKeyValueHeads = 2, HeadDim = 64, MaxPositionEmbeddings = 32768, RopeTheta = 1_000_000,
        RmsNormEps = 1e-6, TieWordEmbeddings = true,
    };

    private const int PromptLength = 32;

    public static int Run(string[] args)
    {
        var threads = ListArg(args, "--threads") ?? [1, 2];
        var batches = ListArg(args, "--batches") ?? [1, 8, 32];
        int steps = ListArg(args, "--steps")?[0] ?? 8;
        var parts = PartsArg(args);
        var dtypes = args.Contains("--float32-only") ? new[] { ScalarType.Float32 } : new[] { ScalarType.Float32, ScalarType.BFloat16 };
        Console.WriteLine($"Qwen2.5-0.5B shape, random weights, prompt {PromptLength} tokens, {steps} timed decode steps after 2 warm-ups, CPU; " +
                          $"load average {File.ReadAllText("/proc/loadavg").Split(' ')[0]} at start");
        foreach (int t in threads)
        {
            set_num_threads(t);
            Console.WriteLine();
            Console.WriteLine($"## torch threads: {get_num_threads()}");
            double bandwidth = MachineCeiling.Bandwidth(1L << 28, 5);
            var fp32Rate = MachineCeiling.Matmul(ScalarType.Float32, [512, 1024], 3).FlopsPerSecond;
            var bf16Rate = MachineCeiling.Matmul(ScalarType.BFloat16, [512, 1024], 3).FlopsPerSecond;
            Console.WriteLine($"memory bandwidth {bandwidth / 1e9:F1} GB/s; matmul float32 {fp32Rate / 1e9:F1} GFLOP/s, bfloat16 {bf16Rate / 1e9:F1} GFLOP/s");
            if (parts.Contains("products")) Products(batches);
            if (parts.Contains("selection")) Selection(batches);
            if (parts.Contains("steps"))
                foreach (var dtype in dtypes)
                    Steps(dtype, batches, steps, bandwidth, dtype == ScalarType.Float32 ? fp32Rate : bf16Rate);
        }
        return 0;
    }

    /// <summary>
    /// The decode products as the model could run them, per weight layout: the MLP's up product [B x 896] x [896 x 4864]
    /// and down product [B x 4864] x [4864 x 896] over 24 weights (one per layer, 418 MB in float32) so that they stream
    /// from memory as in a decode step instead of sitting in the cache, and the tied LM head [B x 896] x [896 x 151936]
    /// (the embedding [V, H], 545 MB). Layouts: linear against a contiguous [out, in] weight (Hugging Face's), linear
    /// against an [out, in] view of a contiguous [in, out] tensor, and the weight-stationary product W · xᵀ.
    /// </summary>
    private static void Products(int[] batches)
    {
        Console.WriteLine();
        Console.WriteLine("| product, weights in turn | layout | dtype | B | µs per product | GB/s of weights |");
        Console.WriteLine("| --- | --- | --- | ---: | ---: | ---: |");
        foreach (var dtype in new[] { ScalarType.Float32, ScalarType.BFloat16 })
            foreach (var (name, inFeatures, outFeatures, count) in new (string, long, long, int)[]
                     { ("[B x 896] x [896 x 4864] x 24", 896, 4864, 24), ("[B x 4864] x [4864 x 896] x 24", 4864, 896, 24), ("LM head [B x 896] x [896 x 151936]", 896, 151936, 1) })
            {
                var weights = Enumerable.Range(0, count).Select(_ => randn(outFeatures, inFeatures, dtype: dtype)).ToArray();
                var columnMajor = weights.Select(w => w.t().contiguous().t()).ToArray();   // [out, in], strides (1, out)
                long bytes = weights[0].numel() * weights[0].element_size();
                foreach (int b in batches)
                {
                    using var x = randn(b, inFeatures, dtype: dtype);
                    foreach (var (layout, set, product) in new (string, Tensor[], Func<Tensor, Tensor>)[]
                             {
                                 ("linear, W [out, in] contiguous", weights, w => nn.functional.linear(x, w)),
                                 ("linear, W [out, in] view of [in, out]", columnMajor, w => nn.functional.linear(x, w)),
                                 ("W · xᵀ, W [out, in] contiguous", weights, w => w.matmul(x.t()).t()),
                             })
                    {
                        double seconds = Best(() => { foreach (var w in set) using (product(w)) { } }, 3) / set.Length;
                        Console.WriteLine($"| {name} | {layout} | {dtype} | {b} | {seconds * 1e6:F0} | {bytes / seconds / 1e9:F1} |");
                    }
                }
                foreach (var w in weights.Concat(columnMajor)) w.Dispose();
            }
    }

    /// <summary>Top-p 0.95 token selection over the real vocabulary: rows whose nucleus the first candidates hold, the second tier holds, and only the whole vocabulary holds.</summary>
    private static void Selection(int[] batches)
    {
        Console.WriteLine();
        Console.WriteLine("| token selection, top-p 0.95, V 151936 | B | candidate set ms | full sort (before) ms | speed-up |");
        Console.WriteLine("| --- | ---: | ---: | ---: | ---: |");
        var options = new SamplingOptions { TopP = 0.95 };
        using var generator = new Generator(1, CPU);
        foreach (var (name, row) in new (string, Tensor)[]
                 { ("Zipf s = 2 (256 candidates hold it)", Zipf(2)), ("Zipf s = 1.3 (4096 hold it)", Zipf(1.3)), ("flat (whole vocabulary)", randn(Qwen05.VocabSize) * 0.1) })
        {
            foreach (int b in batches)
            {
                using var logits = row.unsqueeze(0).expand(b, -1).contiguous();
                double now = Best(() => { var (t, l) = TokenSampler.Sample(logits, options, generator); t.Dispose(); l.Dispose(); }, 5);
                double before = Best(() => { using (FullSort(logits, options.TopP, generator)) { } }, 3);
                Console.WriteLine($"| {name} | {b} | {now * 1e3:F2} | {before * 1e3:F2} | {before / now:F1}x |");
            }
            row.Dispose();
        }
    }

    /// <summary>logits = -s ln(rank) in a shuffled order: with s = 2 the top 256 tokens hold 99.6 % of the mass, like a trained model's usual step; with s = 1.3 they hold 86 % and the top 4096 95.2 %.</summary>
    private static Tensor Zipf(double s)
    {
        using var scope = NewDisposeScope();
        var rank = arange(1, Qwen05.VocabSize + 1, dtype: ScalarType.Float32);
        using var generator = new Generator(2, CPU);
        return (rank.log() * -s).index_select(0, randperm(Qwen05.VocabSize, generator: generator)).MoveToOuterDisposeScope();
    }

    /// <summary>The rule TokenSampler used before the candidate set: log-softmax, a full descending sort, softmax and cumsum of every row, scatter back, softmax again, draw.</summary>
    private static Tensor FullSort(Tensor logits, double topP, Generator generator)
    {
        using var scope = NewDisposeScope();
        var scaled = logits.to(ScalarType.Float32);
        var logProbs = scaled.log_softmax(-1);
        var (sorted, order) = scaled.sort(-1, descending: true);
        var sortedProbs = sorted.softmax(-1);
        var drop = sortedProbs.cumsum(-1).sub_(sortedProbs).ge(topP);
        var filtered = scaled.masked_fill(zeros_like(drop).scatter_(-1, order, drop), double.NegativeInfinity);
        var tokens = filtered.softmax(-1).multinomial(1, generator: generator);
        return logProbs.gather(-1, tokens).MoveToOuterDisposeScope();
    }

    /// <summary>Whole decode steps (engine forward + top-p 0.95 selection + the host copy) after a batched prefill.</summary>
    private static void Steps(ScalarType dtype, int[] batches, int steps, double bandwidth, double matmulRate)
    {
        using var model = CausalLM.Create(Qwen05, seed: 0, dtype: dtype);
        model.eval();
        long weights = model.ParameterCount;
        long weightBytes = weights * (dtype == ScalarType.Float32 ? 4 : 2);
        Console.WriteLine();
        Console.WriteLine($"| decode step, {dtype}, {weights / 1e6:F0}M weights | B | forward ms (fastest step; its CPU ms) | selection ms (random weights: flat rows, fallback) | tokens/s | bound tokens/s (bandwidth / compute) | of bound |");
        Console.WriteLine("| --- | ---: | ---: | ---: | ---: | ---: | ---: |");
        var options = new SamplingOptions { TopP = 0.95 };
        using var generator = new Generator(3, CPU);
        foreach (int b in batches)
        {
            using var engine = new DecodeEngine(model, b, PromptLength + steps + 3);
            var head = engine.Acquire(1);
            var prompt = Enumerable.Range(0, PromptLength).Select(i => (i * 7919) % Qwen05.VocabSize).ToArray();
            using var prefill = engine.Append(head, [prompt]);
            int[] slots = [head[0], .. engine.Fork(head[0], b - 1)];   // one prompt's group, as GroupSampler runs it
            var logits = prefill.expand(b, -1).contiguous();
            double forward = 0, selection = 0, fastest = double.MaxValue, fastestCpu = 0;
            for (int step = 0; step < steps + 2; step++)
            {
                using var scope = NewDisposeScope();
                var watch = Stopwatch.StartNew();
                var (next, logProbs) = TokenSampler.Sample(logits, options, generator);
                _ = cat([next.to(ScalarType.Float64), logProbs.to(ScalarType.Float64)]).cpu().data<double>().ToArray();
                double selected = watch.Elapsed.TotalSeconds;
                var cpu = ThreadCpuSeconds();
                watch.Restart();
                var nextLogits = engine.Decode(slots, next).MoveToOuterDisposeScope();
                double forwarded = watch.Elapsed.TotalSeconds, forwardedCpu = ThreadCpuSeconds() - cpu;
                logits.Dispose();
                logits = nextLogits;
                if (step < 2) continue;
                forward += forwarded;
                selection += selected;
                if (forwarded < fastest) (fastest, fastestCpu) = (forwarded, forwardedCpu);
            }
            logits.Dispose();
            forward /= steps;
            selection /= steps;
            double boundSeconds = Math.Max(weightBytes / bandwidth, 2.0 * weights * b / matmulRate);
            Console.WriteLine($"| | {b} | {forward * 1e3:F1} ({fastest * 1e3:F1}; {fastestCpu * 1e3:F1}) | {selection * 1e3:F1} | {b / (forward + selection):F1} | {b / boundSeconds:F1} " +
                              $"({(weightBytes / bandwidth > 2.0 * weights * b / matmulRate ? "bandwidth" : "compute")}) | {boundSeconds / (forward + selection):P0} |");
        }
    }

    /// <summary>CPU seconds of the calling thread, which a busy machine's other processes do not inflate the way they do wall time (one torch thread).</summary>
    private static double ThreadCpuSeconds()
    {
        var now = new Timespec();
        return clock_gettime(ThreadCpuClock, ref now) == 0 ? now.Seconds + now.Nanoseconds * 1e-9 : double.NaN;
    }

    private const int ThreadCpuClock = 3;   // CLOCK_THREAD_CPUTIME_ID (Linux)

    private struct Timespec
    {
        public long Seconds;
        public long Nanoseconds;
    }

    [System.Runtime.InteropServices.DllImport("libc", SetLastError = true)]
    private static extern int clock_gettime(int clock, ref Timespec time);

    private static double Best(Action action, int repeats)
    {
        action();
        double best = double.MaxValue;
        for (int r = 0; r < repeats; r++)
        {
            var watch = Stopwatch.StartNew();
            action();
            best = Math.Min(best, watch.Elapsed.TotalSeconds);
        }
        return best;
    }

    private static string[] PartsArg(string[] args)
    {
        int i = Array.IndexOf(args, "--parts");
        return i >= 0 && i + 1 < args.Length ? args[i + 1].Split(',') : ["products", "selection", "steps"];
    }

    private static int[]? ListArg(string[] args, string name)
    {
        int i = Array.IndexOf(args, name);
        return i >= 0 && i + 1 < args.Length ? args[i + 1].Split(',').Select(int.Parse).ToArray() : null;
    }
}
