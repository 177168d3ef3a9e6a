using Grpo.Sampling;
using TorchSharp;
using static TorchSharp.torch;

namespace Grpo.Tests.Sampling;

/// <summary>
/// TokenSampler's candidate-set selection against the exact rule over the whole vocabulary, written here in float64
/// as the sampler used to compute it (transformers' warper order: temperature, top-k, top-p over the renormalised
/// survivors, min-p): the draws' frequencies must match that distribution, in the case the candidates cover the
/// nucleus and in the case they do not (the fallback), and every log-prob must be the unfiltered one.
/// </summary>
public class TokenSamplerTests
{
    private const int Vocab = 1000;   // well past TokenSampler.CandidateCount
    private const int Draws = 5000;

    /// <summary>The exact sampling distribution over the vocabulary, float64.</summary>
    private static double[] ExactDistribution(double[] logits, SamplingOptions o)
    {
        var scaled = logits.Select(l => l / o.Temperature).ToArray();
        var order = Enumerable.Range(0, scaled.Length).OrderByDescending(i => scaled[i]).ToArray();
        var kept = new bool[scaled.Length];
        foreach (var i in order) kept[i] = true;
        if (o.TopK > 0 && o.TopK < scaled.Length)
        {
            double kth = scaled[order[o.TopK - 1]];
            for (int i = 0; i < scaled.Length; i++) kept[i] = scaled[i] >= kth;
        }
        double[] Renormalised()
        {
            double max = scaled.Where((_, i) => kept[i]).Max();
            var p = scaled.Select((s, i) => kept[i] ? Math.Exp(s - max) : 0).ToArray();
            double sum = p.Sum();
            return p.Select(x => x / sum).ToArray();
        }
        if (o.TopP < 1)
        {
            var p = Renormalised();
            double before = 0;
            foreach (var i in order.Where(i => kept[i]))
            {
                if (before >= o.TopP) kept[i] = false;
                before += p[i];
            }
        }
        if (o.MinP > 0)
        {
            var p = Renormalised();
            double threshold = p.Max() * o.MinP;
            for (int i = 0; i < p.Length; i++) kept[i] &= p[i] >= threshold;
        }
        return Renormalised();
    }

    /// <summary>Draws <see cref="Draws"/> tokens from one row of logits and checks frequencies and log-probs against float64.</summary>
    private static int[] CheckAgainstExact(double[] logits, SamplingOptions options, ulong seed, int draws = Draws)
    {
        int vocab = logits.Length;
        var expected = ExactDistribution(logits, options);
        var scaled = logits.Select(l => l / options.Temperature).ToArray();
        double max = scaled.Max(), logZ = max + Math.Log(scaled.Sum(s => Math.Exp(s - max)));

        using var row = tensor(logits.Select(l => (float)l).ToArray());
        using var batch = row.unsqueeze(0).expand(draws, vocab).contiguous();
        using var generator = new Generator(seed, CPU);
        var (tokens, logProbs) = TokenSampler.Sample(batch, options, generator);
        var drawn = tokens.data<long>().Select(t => (int)t).ToArray();
        var drawnLogProbs = logProbs.data<float>().ToArray();
        tokens.Dispose();
        logProbs.Dispose();

        for (int i = 0; i < draws; i++)
        {
            Assert.True(expected[drawn[i]] > 0, $"token {drawn[i]} was drawn but the exact rule drops it");
            Assert.True(Math.Abs(drawnLogProbs[i] - (scaled[drawn[i]] - logZ)) < 1e-4, $"log-prob of {drawn[i]}: {drawnLogProbs[i]} vs {scaled[drawn[i]] - logZ}");
        }
        // Frequencies in ten bins of equal expected mass (tokens by rank), each within 5 standard deviations.
        var byRank = Enumerable.Range(0, vocab).Where(i => expected[i] > 0).OrderByDescending(i => expected[i]).ToArray();
        var bin = new int[vocab];
        double cumulative = 0;
        foreach (var i in byRank)
        {
            bin[i] = Math.Min(9, (int)(cumulative * 10));
            cumulative += expected[i];
        }
        for (int b = 0; b < 10; b++)
        {
            double p = byRank.Where(i => bin[i] == b).Sum(i => expected[i]);
            double observed = drawn.Count(t => bin[t] == b) / (double)draws;
            double sigma = Math.Sqrt(p * (1 - p) / draws);
            Assert.True(Math.Abs(observed - p) <= 5 * sigma + 1e-9, $"bin {b}: drawn {observed:F4}, exact {p:F4} (sigma {sigma:F4})");
        }
        return drawn;
    }

    /// <summary>A peaked row: a few likely tokens, the rest a long tail, as a trained model's next-token distribution.</summary>
    private static double[] Peaked(int seed)
    {
        var random = new Random(seed);
        return Enumerable.Range(0, Vocab).Select(i => (i % 97 == 3 ? 9.0 - i / 100.0 : 0.0) + random.NextDouble()).ToArray();
    }

    /// <summary>A nearly flat row: the nucleus spans hundreds of tokens, more than the candidates.</summary>
    private static double[] Flat(int seed, int vocab = Vocab)
    {
        var random = new Random(seed);
        return Enumerable.Range(0, vocab).Select(_ => 0.3 * random.NextDouble()).ToArray();
    }

    private static HashSet<int> Top(double[] logits, int count) =>
        Enumerable.Range(0, logits.Length).OrderByDescending(i => logits[i]).Take(count).ToHashSet();

    [Fact]
    public void TopPWithinTheCandidatesDrawsTheExactNucleusDistribution() =>
        CheckAgainstExact(Peaked(1), new SamplingOptions { TopP = 0.95, Temperature = 0.8 }, 1);

    [Fact]
    public void TopPPastTheCandidatesFallsBackToTheWholeVocabulary()
    {
        var logits = Flat(2);
        var drawn = CheckAgainstExact(logits, new SamplingOptions { TopP = 0.6 }, 2);
        var candidates = Top(logits, TokenSampler.CandidateCount);
        Assert.Contains(drawn, t => !candidates.Contains(t));   // only the fallback can draw these
    }

    [Fact]
    public void ANucleusPastTheWiderCandidateSetFallsBackToTheWholeSortedVocabulary()
    {
        // 6000 tokens: top-p 0.3 keeps about 1800 (the second tier of 4096 holds them), 0.9 about 5400 (only the sort does).
        var logits = Flat(9, vocab: 6000);
        var first = Top(logits, TokenSampler.CandidateCount);
        var second = Top(logits, 16 * TokenSampler.CandidateCount);
        Assert.Contains(CheckAgainstExact(logits, new SamplingOptions { TopP = 0.3 }, 9, draws: 600), t => !first.Contains(t));
        Assert.Contains(CheckAgainstExact(logits, new SamplingOptions { TopP = 0.9 }, 10, draws: 600), t => !second.Contains(t));
    }

    [Fact]
    public void MinPInsideAndPastTheCandidatesDrawsTheExactDistribution()
    {
        CheckAgainstExact(Peaked(3), new SamplingOptions { MinP = 0.05 }, 3);
        CheckAgainstExact(Flat(4), new SamplingOptions { MinP = 0.9, Temperature = 1.3 }, 4);
    }

    [Fact]
    public void TopKWithTopPAndMinPCountsMassWithinTheTopK() =>
        CheckAgainstExact(Peaked(5), new SamplingOptions { TopK = 12, TopP = 0.7, MinP = 0.02, Temperature = 1.5 }, 5);

    [Fact]
    public void UnfilteredSamplingDrawsTheTemperatureScaledDistribution() =>
        CheckAgainstExact(Peaked(6), new SamplingOptions { Temperature = 0.7 }, 6);

    [Fact]
    public void RowsThatNeedTheFallbackAndRowsThatDoNotShareOneCall()
    {
        // Row 0 peaked (candidates suffice), row 1 flat (fallback): each keeps its own exact support.
        var peaked = Peaked(7);
        var flat = Flat(8);
        var options = new SamplingOptions { TopP = 0.9 };
        using var logits = stack([tensor(peaked.Select(l => (float)l).ToArray()), tensor(flat.Select(l => (float)l).ToArray())]).repeat(500, 1);
        using var generator = new Generator(9, CPU);
        var (tokens, _) = TokenSampler.Sample(logits, options, generator);
        using (tokens)
        {
            var drawn = tokens.data<long>().ToArray();
            var exactPeaked = ExactDistribution(peaked, options);
            var exactFlat = ExactDistribution(flat, options);
            for (int i = 0; i < drawn.Length; i++)
                Assert.True((i % 2 == 0 ? exactPeaked : exactFlat)[drawn[i]] > 0, $"row {i} drew token {drawn[i]} outside its exact support");
            Assert.True(drawn.Where((_, i) => i % 2 == 1).Distinct().Count() > TokenSampler.CandidateCount / 2);
        }
    }
}
