using Grpo.Modeling;
using Grpo.Sampling;
using Grpo.Tests.Modeling;
using TorchSharp;
using static TorchSharp.torch;

namespace Grpo.Tests.Sampling;

public class GroupSamplerTests
{
    private static readonly ByteTokenizer Tokenizer = new();
    private static readonly string[] Prompts = ["2+2=", "Hello, world", "x"];

    private static Grpo.Modeling.CausalLM Model(string modelType = "qwen3") => TestModels.Random(ModelConfig.Tiny(modelType), seed: 21);

    /// <summary>Greedy continuation by full forward passes over the whole sequence, no cache, no padding.</summary>
    private static List<int> GreedyByFullForward(Grpo.Modeling.CausalLM model, int[] prompt, int steps)
    {
        using var noGrad = no_grad();
        var sequence = prompt.Select(i => (long)i).ToList();
        var generated = new List<int>();
        for (int s = 0; s < steps; s++)
        {
            using var scope = NewDisposeScope();
            var logits = model.forward(tensor(sequence.ToArray()).unsqueeze(0));
            int next = (int)logits[0, -1].argmax().item<long>();
            generated.Add(next);
            sequence.Add(next);
        }
        return generated;
    }

    /// <summary>log softmax(logits / T) of each completion token, by one full forward pass over prompt + completion.</summary>
    private static float[] RecomputedLogProbs(Grpo.Modeling.CausalLM model, int[] prompt, int[] completion, double temperature)
    {
        using var noGrad = no_grad();
        using var scope = NewDisposeScope();
        var ids = tensor(prompt.Concat(completion).Select(i => (long)i).ToArray()).unsqueeze(0);
        var logProbs = (model.forward(ids)[0] / temperature).log_softmax(-1);
        return completion.Select((token, i) => logProbs[prompt.Length - 1 + i, token].item<float>()).ToArray();
    }

    [Fact]
    public void ABatchWhoseCacheCannotFitInMemoryIsRefusedBeforeAllocating()
    {
        var model = Model();
        var config = model.Config;
        using var sampler = new GroupSampler(model, Tokenizer, new SamplingOptions { MaxNewTokens = 100 });
        // By hand: float32 keys and values of every layer for 3 + 100 positions, and three vocabulary-wide float rows.
        long rows = 200_000_000;
        double gib = rows * (2.0 * config.NumHiddenLayers * config.NumKeyValueHeads * config.HeadDim * 103 * 4 + 3.0 * config.VocabSize * 4) / (1L << 30);
        Assert.True(gib * (1L << 30) > GC.GetGCMemoryInfo().TotalAvailableMemoryBytes, "the example must exceed this machine's memory");

        var error = Assert.Throws<InvalidOperationException>(() => sampler.Sample([Tokenizer.Encode("abc")], (int)rows));
        Assert.Contains($"about {gib:N1} GiB", error.Message);
    }

    [Fact]
    public void ReturnsGroupSizeCompletionsPerPromptInOrder()
    {
        using var model = Model();
        using var sampler = new GroupSampler(model, Tokenizer, new SamplingOptions { MaxNewTokens = 6, PromptsPerBatch = 2 });
        var completions = sampler.Sample(Prompts, groupSize: 4);
        Assert.Equal(12, completions.Count);
        Assert.Equal(Enumerable.Range(0, 12).Select(i => (i / 4, i % 4)), completions.Select(c => (c.PromptIndex, c.SampleIndex)));
        Assert.All(completions, c => Assert.Equal(c.TokenIds.Length, c.LogProbs.Length));
        Assert.All(completions, c => Assert.Equal(Tokenizer.Decode(c.TokenIds), c.Text));
    }

    [Fact]
    public void SameSeedGivesSameCompletionsAndAnotherSeedDoesNot()
    {
        using var model = Model();
        IReadOnlyList<Completion> Run(long seed)
        {
            using var sampler = new GroupSampler(model, Tokenizer, new SamplingOptions { MaxNewTokens = 12, Seed = seed, Temperature = 0.9, TopP = 0.95 });
            return sampler.Sample(Prompts, groupSize: 3);
        }
        var a = Run(5);
        var b = Run(5);
        var c = Run(6);
        Assert.Equal(a.Select(x => x.TokenIds), b.Select(x => x.TokenIds));
        Assert.Equal(a.Select(x => x.LogProbs), b.Select(x => x.LogProbs));
        Assert.NotEqual(a.Select(x => x.TokenIds), c.Select(x => x.TokenIds));
        // Samples of one group differ from each other: the prefill is shared, the draws are not.
        Assert.True(a.Take(3).Select(x => string.Join(",", x.TokenIds)).Distinct().Count() > 1);
    }

    [Theory]
    [InlineData("qwen3")]
    [InlineData("qwen2")]
    [InlineData("llama")]
    public void LogProbsMatchAFullForwardPassUnderTheTemperatureScaledUnfilteredDistribution(string modelType)
    {
        using var model = Model(modelType);
        // Many EOS ids so sequences end at different steps and the batch gets compacted along the way.
        var options = new SamplingOptions { MaxNewTokens = 20, Temperature = 0.7, TopK = 40, TopP = 0.9, EosTokenIds = Enumerable.Range(0, 40).ToArray(), Seed = 3 };
        using var sampler = new GroupSampler(model, Tokenizer, options);
        var completions = sampler.Sample(Prompts, groupSize: 4);
        Assert.Contains(completions, c => c.FinishReason == FinishReason.Eos && c.TokenIds.Length < 20);
        foreach (var c in completions)
        {
            var expected = RecomputedLogProbs(model, Tokenizer.Encode(Prompts[c.PromptIndex]), c.TokenIds, 0.7);
            for (int i = 0; i < expected.Length; i++)
                Assert.True(Math.Abs(expected[i] - c.LogProbs[i]) < 1e-4, $"prompt {c.PromptIndex} sample {c.SampleIndex} token {i}: {c.LogProbs[i]} vs {expected[i]}");
        }
    }

    [Fact]
    public void GreedySamplingFollowsTheArgmaxOfFullForwardPassesWhateverTheBatch()
    {
        using var model = Model();
        var options = new SamplingOptions { MaxNewTokens = 10, TopK = 1, EosTokenIds = [] };
        using var sampler = new GroupSampler(model, Tokenizer, options);
        var batched = sampler.Sample(Prompts, groupSize: 2);   // left-padded together
        foreach (var c in batched)
        {
            var expected = GreedyByFullForward(model, Tokenizer.Encode(Prompts[c.PromptIndex]), 10);
            Assert.Equal(expected, c.TokenIds);
            Assert.True(c.Truncated);
        }
    }

    [Fact]
    public void EosEndsACompletionAndIsItsLastToken()
    {
        using var model = Model();
        var prompt = Tokenizer.Encode(Prompts[1]);
        var greedy = GreedyByFullForward(model, prompt, 8);
        int stopAt = Enumerable.Range(1, 7).First(i => !greedy.Take(i).Contains(greedy[i]));
        using var sampler = new GroupSampler(model, Tokenizer, new SamplingOptions { MaxNewTokens = 8, TopK = 1, EosTokenIds = [greedy[stopAt]] });
        var c = sampler.Sample([Prompts[1]], groupSize: 1).Single();
        Assert.Equal(greedy.Take(stopAt + 1), c.TokenIds);
        Assert.Equal(FinishReason.Eos, c.FinishReason);
        Assert.False(c.Truncated);
    }

    /// <summary>Every id decodes to two letters, so a stop string can straddle two tokens.</summary>
    private sealed class LetterPairTokenizer : Grpo.Tokenization.ITokenizer
    {
        public int VocabSize => 320;
        public int[] Encode(string text) => Enumerable.Range(0, text.Length / 2).Select(i => (text[2 * i] - 'a') + 26 * (text[2 * i + 1] - 'a')).ToArray();
        public string Decode(IEnumerable<int> ids, bool skipSpecialTokens = true) => string.Concat(ids.Select(Letters));
        public int? TokenToId(string token) => null;
        public static string Letters(int id) => $"{(char)('a' + id % 26)}{(char)('a' + id / 26 % 26)}";
    }

    [Fact]
    public void StopStringEndsACompletionOnceItsTextContainsIt()
    {
        using var model = Model();
        var tokenizer = new LetterPairTokenizer();
        var prompt = tokenizer.Encode("hello");
        var greedy = GreedyByFullForward(model, prompt, 10);
        // The stop string straddles tokens end - 1 and end: the last letter of one and the first of the next.
        string StopAt(int i) => $"{LetterPairTokenizer.Letters(greedy[i - 1])[1]}{LetterPairTokenizer.Letters(greedy[i])[0]}";
        int end = Enumerable.Range(2, 8).First(i => !tokenizer.Decode(greedy.Take(i)).Contains(StopAt(i)));
        using var sampler = new GroupSampler(model, tokenizer, new SamplingOptions { MaxNewTokens = 10, TopK = 1, EosTokenIds = [], StopStrings = [StopAt(end)] });
        var c = sampler.Sample(["hello"], groupSize: 1).Single();
        Assert.Equal(greedy.Take(end + 1), c.TokenIds);
        Assert.Equal(FinishReason.StopString, c.FinishReason);
        Assert.Contains(StopAt(end), c.Text);
    }

    [Fact]
    public void TopKOfOneIsGreedyAndTopKRestrictsTheDraws()
    {
        using var model = Model();
        var prompt = Tokenizer.Encode(Prompts[2]);
        using var noGrad = no_grad();
        using var logits = model.forward(tensor(prompt.Select(i => (long)i).ToArray()).unsqueeze(0));
        var allowed = logits[0, -1].topk(3).indexes.data<long>().Select(i => (int)i).ToHashSet();
        using var sampler = new GroupSampler(model, Tokenizer, new SamplingOptions { MaxNewTokens = 1, TopK = 3, Temperature = 5, EosTokenIds = [] });
        var firstTokens = sampler.Sample([Prompts[2]], groupSize: 64).Select(c => c.TokenIds[0]).ToHashSet();
        Assert.Subset(allowed, firstTokens);
        Assert.True(firstTokens.Count > 1);
    }

    [Fact]
    public void MinPAndTopPDropTheUnlikelyTail()
    {
        // A 4-token distribution built by hand: probabilities 0.5, 0.3, 0.15, 0.05.
        var probs = new[] { 0.5, 0.3, 0.15, 0.05 };
        using var logits = tensor(probs.Select(p => (float)Math.Log(p)).ToArray()).unsqueeze(0).expand(2000, 4).contiguous();
        using var generator = new Generator(1, CPU);
        HashSet<long> Draw(SamplingOptions o)
        {
            var (tokens, _) = TokenSampler.Sample(logits, o, generator);
            using (tokens) return tokens.data<long>().ToHashSet();
        }
        Assert.Equal([0L, 1L, 2L, 3L], Draw(new SamplingOptions()).Order());
        Assert.Equal([0L, 1L], Draw(new SamplingOptions { TopP = 0.8 }).Order());     // 0.5 + 0.3 reaches 0.8
        Assert.Equal([0L, 1L, 2L], Draw(new SamplingOptions { TopP = 0.81 }).Order());
        Assert.Equal([0L, 1L], Draw(new SamplingOptions { MinP = 0.31 }).Order());    // 0.15 < 0.31 * 0.5
        Assert.Equal([0L, 1L, 2L], Draw(new SamplingOptions { MinP = 0.29 }).Order());

        var (_, logProbs) = TokenSampler.Sample(logits.narrow(0, 0, 1), new SamplingOptions { Temperature = 2, TopK = 1 }, generator);
        // Greedy draw of token 0; its log-prob is from softmax(log p / 2), unfiltered: sqrt(0.5) / sum sqrt(p).
        Assert.Equal(Math.Log(Math.Sqrt(0.5) / probs.Sum(Math.Sqrt)), logProbs.item<float>(), 5);
    }

    [Fact]
    public void BadOptionsAndPromptsAreRefusedUpFront()
    {
        using var model = Model();
        var e = Assert.Throws<ArgumentOutOfRangeException>(() => new GroupSampler(model, Tokenizer, new SamplingOptions { Temperature = 0 }));
        Assert.Contains("TopK = 1", e.Message);
        Assert.Throws<ArgumentOutOfRangeException>(() => new GroupSampler(model, Tokenizer, new SamplingOptions { TopP = 0 }));
        Assert.Throws<ArgumentOutOfRangeException>(() => new GroupSampler(model, Tokenizer, new SamplingOptions { MaxNewTokens = 0 }));

        using var sampler = new GroupSampler(model, Tokenizer);
        Assert.Throws<ArgumentException>(() => sampler.Sample(new List<int[]> { Array.Empty<int>() }, 2));
        Assert.Throws<ArgumentException>(() => sampler.Sample(new List<int[]> { new[] { 1, 999 } }, 2));
        Assert.Throws<ArgumentOutOfRangeException>(() => sampler.Sample(Prompts, 0));

        using var small = Grpo.Modeling.CausalLM.Create(ModelConfig.Tiny("qwen3", vocabSize: 100), 1);
        Assert.Throws<InvalidDataException>(() => new GroupSampler(small, Tokenizer));
    }

    [Fact]
    public void CancellationStopsSampling()
    {
        using var model = Model();
        using var sampler = new GroupSampler(model, Tokenizer, new SamplingOptions { MaxNewTokens = 50, EosTokenIds = [] });
        using var cancelled = new CancellationTokenSource();
        cancelled.Cancel();
        Assert.Throws<OperationCanceledException>(() => sampler.Sample(Prompts, 2, cancelled.Token));
    }

    [Fact]
    public void RepeatedSamplingLeavesNoLiveTensorsBehind()
    {
        using var model = Model();
        using var sampler = new GroupSampler(model, Tokenizer, new SamplingOptions { MaxNewTokens = 16, EosTokenIds = Enumerable.Range(0, 20).ToArray() });
        sampler.Sample(Prompts, 4);
        long before = DisposeScopeManager.Statistics.ThreadTotalLiveCount;
        for (int i = 0; i < 5; i++) sampler.Sample(Prompts, 4);
        Assert.Equal(before, DisposeScopeManager.Statistics.ThreadTotalLiveCount);
    }
}
