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

    /// <summary>Decode tokens per second (all rows together), each run the best of <paramref name="repeats"/>.</summary>
    public static double TokensPerSecond(CausalLM model, int rows, int shortRun, int longRun, int repeats, double topP = 1.0)
    {
        var tokenizer = new IdTokenizer(model.Config.VocabSize);
        var prompt = tokenizer.Prompt(PromptLength);
        double Best(int newTokens)
        {
            var options = new SamplingOptions { MaxNewTokens = newTokens, EosTokenIds = [], Seed = 1, TopP = topP };
            return Enumerable.Range(0, repeats).Min(_ =>
            {
                using var sampler = new GroupSampler(model, tokenizer, options);
                var watch = Stopwatch.StartNew();
                sampler.Sample(new List<int[]> { prompt }, rows);
                return watch.Elapsed.TotalSeconds;
            });
        }
        Best(2);   // warm-up: kernel selection and allocator growth for these shapes
        double shortSeconds = Best(shortRun), longSeconds = Best(longRun);
        return rows * (longRun - shortRun) / Math.Max(longSeconds - shortSeconds, 1e-9);
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
