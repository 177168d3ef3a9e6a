using System.Diagnostics;
using System.Globalization;
using Grpo.Benchmarks;
using Grpo.Training;
using TorchSharp;
using static TorchSharp.torch;

/// <summary>
/// Peak native memory and time of one forward + backward of the sampled tokens' log-probs, naive
/// (<c>log_softmax(linear(h, W) / τ)</c> then gather, each intermediate freed as soon as plain code would free it, so the
/// saved [B × T × V] log-softmax and backward's gradients of it are what it holds) against <see cref="TokenLogProbs"/>
/// (chunked, logits recomputed in backward). Each variant runs in a fresh child process; the peak is the process's
/// resident-set high-water mark (VmHWM in /proc/self/status), reset after the inputs are allocated, minus the resident
/// set at that moment, so the runtime and the inputs are not counted. No warm-up precedes the measured pass: a warm-up
/// would leave freed memory in the allocator and hide it from the peak.
/// <code>
///   dotnet run -c Release --project benchmarks/Grpo.Benchmarks -- logprob-memory [batch 8] [length 512] [hidden 256] [vocab 32000] [chunk tokens, 0 = default]
/// </code>
/// </summary>
public static class LogProbMemory
{
    private const double Temperature = 0.9;

    public static int Run(string[] args)
    {
        if (args is ["--child", var variant, .. var sizes])
            return Child(variant, Sizes.Parse(sizes));

        var problem = Sizes.Parse(args);
        Console.WriteLine($"log-probs forward + backward, batch {problem.Batch}, length {problem.Length}, hidden {problem.Hidden}, " +
                          $"vocab {problem.Vocab}, chunk {(problem.Chunk > 0 ? problem.Chunk : TokenLogProbs.DefaultChunkTokens(problem.Vocab))} tokens, float32, head frozen");
        Console.WriteLine($"naive logits alone: {problem.Batch * problem.Length * problem.Vocab * 4.0 / (1 << 20):F0} MiB");
        var naive = RunChild("naive", args);
        var chunked = RunChild("chunked", args);
        Console.WriteLine();
        Console.WriteLine("| variant | peak above inputs (MiB) | process peak VmHWM (MiB) | forward + backward (s) |");
        Console.WriteLine("| --- | ---: | ---: | ---: |");
        foreach (var r in new[] { naive, chunked })
            Console.WriteLine($"| {r.Variant} | {r.PeakAboveBaselineMiB:F0} | {r.ProcessPeakMiB:F0} | {r.Seconds:F2} |");
        var ratio = chunked.PeakAboveBaselineMiB / naive.PeakAboveBaselineMiB;
        Console.WriteLine();
        Console.WriteLine($"chunked / naive peak above inputs: {ratio:F3} (target ≤ 0.25); whole-process peaks: {chunked.ProcessPeakMiB / naive.ProcessPeakMiB:F3}");
        return ratio <= 0.25 ? 0 : 1;
    }

    internal sealed record Measurement(string Variant, double PeakAboveBaselineMiB, double ProcessPeakMiB, double Seconds);

    private sealed record Sizes(int Batch, int Length, int Hidden, int Vocab, int Chunk)
    {
        public static Sizes Parse(string[] args)
        {
            int At(int i, int fallback) => args.Length > i ? int.Parse(args[i], CultureInfo.InvariantCulture) : fallback;
            return new Sizes(At(0, 8), At(1, 512), At(2, 256), At(3, 32_000), At(4, 0));
        }

        public string[] ToArgs() => [$"{Batch}", $"{Length}", $"{Hidden}", $"{Vocab}", $"{Chunk}"];
    }

    /// <summary>Runs one variant (naive or chunked) in a fresh child process; <paramref name="args"/> are the sizes, as on the command line.</summary>
    internal static Measurement RunChild(string variant, string[] args)
    {
        var f = ChildProcess.Result(new[] { "logprob-memory", "--child", variant }.Concat(Sizes.Parse(args).ToArgs()), variant).Split(' ');
        double D(int i) => double.Parse(f[i], CultureInfo.InvariantCulture);
        return new Measurement(f[0], D(1), D(2), D(3));
    }

    private static int Child(string variant, Sizes s)
    {
        var generator = new Generator(0);
        var hidden = randn([s.Batch, s.Length, s.Hidden], generator: generator).requires_grad_();
        var weight = (randn([s.Vocab, s.Hidden], generator: generator) / Math.Sqrt(s.Hidden));
        var targets = randint(s.Vocab, [s.Batch, s.Length], generator: generator);
        var upstream = randn([s.Batch, s.Length], generator: generator);
        _ = (hidden.sum() + weight.sum() + upstream.sum()).item<float>(); // touch every input page before the baseline

        var resetOk = ProcessMemory.ResetPeak();
        var baseline = ProcessMemory.ResidentBytes();
        var stopwatch = Stopwatch.StartNew();
        Pass(variant, hidden, weight, targets, upstream, s.Chunk);
        var seconds = stopwatch.Elapsed.TotalSeconds;
        var peak = ProcessMemory.PeakBytes();
        if (!resetOk)
            Console.Error.WriteLine("warning: could not reset VmHWM; the peak includes start-up");
        Console.WriteLine(FormattableString.Invariant($"RESULT {variant} {(peak - baseline) / 1048576.0} {peak / 1048576.0} {seconds}"));
        return 0;
    }

    private static void Pass(string variant, Tensor hidden, Tensor weight, Tensor targets, Tensor upstream, int chunk)
    {
        using var logp = variant switch
        {
            "naive" => NaiveLogProbs(hidden, weight, targets),
            "chunked" => TokenLogProbs.Compute(hidden, weight, null, targets, Temperature, chunk > 0 ? chunk : null),
            _ => throw new ArgumentException($"Unknown variant '{variant}'; use naive or chunked."),
        };
        using (var weighted = logp * upstream)
        using (var loss = weighted.sum())
            loss.backward();
        using var gradSum = hidden.grad!.sum();
        _ = gradSum.item<float>();
    }

    /// <summary>
    /// <c>log_softmax(linear(h, W) / τ).gather(targets)</c> written as plain PyTorch code runs it: each intermediate is
    /// freed as soon as the next one exists (Python drops it when its last reference goes), so only what autograd saves
    /// stays alive: the [B, T, V] log-softmax output, as in PyTorch's own naive pass. The logits and the scaled logits
    /// are not needed by backward (the scaling by a constant saves nothing), so holding them would count 2 × [B, T, V]
    /// that no plain implementation keeps.
    /// </summary>
    private static Tensor NaiveLogProbs(Tensor hidden, Tensor weight, Tensor targets)
    {
        Tensor logProbs;
        using (var logits = nn.functional.linear(hidden, weight))
        using (var scaled = logits.div(Temperature))
            logProbs = scaled.log_softmax(-1);
        using (logProbs)
        using (var index = targets.unsqueeze(-1))
        using (var picked = logProbs.gather(-1, index))
            return picked.squeeze(-1);
    }
}
