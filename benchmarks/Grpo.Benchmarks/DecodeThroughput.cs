using System.Diagnostics;
using Grpo.Modeling;
using Grpo.Sampling;
using static TorchSharp.torch;

namespace Grpo.Benchmarks;

/// <summary>
/// Decode speed of the library's sampler at a given batch: one prompt, its prefill shared by <c>rows</c> completions
/// (<see cref="GroupSampler"/> with G = rows), no EOS. The rate is taken from the difference of a long and a short run,
/// rows × (long − short) tokens over the difference of their times, so the prefill and the per-call set-up cancel and
/// what is left is the steady decode step. Also the cost of picking one token (<see cref="TokenSampler"/>) alone.
/// </summary>
internal static class DecodeThroughput
{
    public const int PromptLength = 32;

    /// <summary>
    /// Decode tokens per second (all rows together), each run the best of <paramref name="repeats"/>; and per second
    /// of process CPU time, which on a busy machine stands closer to what an idle one gives (one torch thread).
    /// </summary>
    public static (double Wall, double PerCpuSecond) TokensPerSecond(CausalLM model, int rows, int shortRun, int longRun, int repeats, double topP = 1.0)
    {
        var tokenizer = new IdTokenizer(model.Config.VocabSize);
        var prompt = tokenizer.Prompt(PromptLength);
        (double Wall, double Cpu) Best(int newTokens)
        {
            var options = new SamplingOptions { MaxNewTokens = newTokens, EosTokenIds = [], Seed = 1, TopP = topP };
            var runs = Enumerable.Range(0, repeats).Select(_ =>
            {
                using var sampler = new GroupSampler(model, tokenizer, options);
                var cpu = CpuTime();
                var watch = Stopwatch.StartNew();
                sampler.Sample(new List<int[]> { prompt }, rows);
                return (watch.Elapsed.TotalSeconds, (CpuTime() - cpu).TotalSeconds);
            }).ToList();
            return (runs.Min(r => r.Item1), runs.Min(r => r.Item2));
        }
        Best(2);   // warm-up: kernel selection and allocator growth for these shapes
        var (shortRunTimes, longRunTimes) = (Best(shortRun), Best(longRun));
        double tokens = rows * (longRun - shortRun);
        return (tokens / Math.Max(longRunTimes.Wall - shortRunTimes.Wall, 1e-9), tokens / Math.Max(longRunTimes.Cpu - shortRunTimes.Cpu, 1e-9));
    }

    private static TimeSpan CpuTime()
    {
        using var self = Process.GetCurrentProcess();
        return self.TotalProcessorTime;
    }

    /// <summary>
    /// Seconds to pick one token for each of <paramref name="rows"/> rows of logits in the model's dtype, best of
    /// <paramref name="repeats"/>. The logits are N(0, 5²): peaked like a trained model's, whose top-p 0.95 nucleus holds
    /// tens to hundreds of tokens (here about a hundred of 151,936), where a random-weight model's are nearly flat and
    /// its nucleus is most of the vocabulary.
    /// </summary>
    public static double SelectionSeconds(CausalLM model, int rows, double topP, int repeats)
    {
        using var generator = new Generator(1);
        using var standard = randn([rows, model.Config.VocabSize], generator: generator);
        using var logits = standard.mul(5.0).to(model.Dtype);
        var options = new SamplingOptions { TopP = topP, Seed = 1 };
        double Once()
        {
            using var scope = NewDisposeScope();
            var watch = Stopwatch.StartNew();
            var (tokens, _) = TokenSampler.Sample(logits, options, generator);
            _ = tokens.cpu().data<long>().ToArray();   // as the sampler, the host reads the tokens
            return watch.Elapsed.TotalSeconds;
        }
        Once();
        return Enumerable.Range(0, repeats).Min(_ => Once());
    }
}
