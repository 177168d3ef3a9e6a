using Grpo.Modeling;
using Grpo.Sampling;
using Grpo.Tokenization;
using static TorchSharp.torch;

namespace Grpo.Tests.Modeling;

/// <summary>
/// Real checkpoints written by Hugging Face transformers 5.17.0 load unchanged and give transformers' own logits
/// and greedy tokens (Fixtures/hf-reference: one per family and RoPE scaling type; see its README).
/// </summary>
public class TransformersParityTests
{
    static string Fixture(string name) => Path.Combine(AppContext.BaseDirectory, "Fixtures", "hf-reference", name);

    [Theory]
    [InlineData("qwen2-bias-yarn")]
    [InlineData("qwen3-qknorm-tied")]
    [InlineData("llama-llama3rope")]
    [InlineData("llama-linear")]
    [InlineData("llama-dynamic")]
    public void LogitsMatchTransformersWithLeftPadding(string name)
    {
        using var scope = NewDisposeScope();
        using var model = Checkpoint.Load(Fixture(name));
        model.eval();
        var reference = HfReference.Load(Fixture(name));

        var diff = HfReference.MaxLogitDiff(model, reference["input_ids"], reference["attention_mask"], reference["logits"]);
        Assert.True(diff < 1e-4, $"{name}: logits differ from transformers' by up to {diff}");
    }

    [Fact]
    public void DynamicRopeMatchesTransformersBeyondTheTrainedLength()
    {
        // 24 tokens against max_position_embeddings 16: transformers rescales the frequencies for this length.
        using var scope = NewDisposeScope();
        using var model = Checkpoint.Load(Fixture("llama-dynamic"));
        model.eval();
        var reference = HfReference.Load(Fixture("llama-dynamic"));

        var diff = HfReference.MaxLogitDiff(model, reference["long_input_ids"], null, reference["long_logits"]);
        Assert.True(diff < 1e-4, $"logits differ from transformers' by up to {diff}");
    }

    [Theory]
    [InlineData("qwen2-bias-yarn")]
    [InlineData("qwen3-qknorm-tied")]
    [InlineData("llama-llama3rope")]
    [InlineData("llama-linear")]
    public void GreedySamplingReproducesTransformersGenerate(string name)
    {
        using var model = Checkpoint.Load(Fixture(name));
        model.eval();
        var reference = HfReference.Load(Fixture(name));
        var prompts = HfReference.Prompts(reference);
        var expected = reference["greedy"].data<long>().ToArray();

        // Greedy = top-k 1; EOS off, as the reference generated exactly 8 tokens.
        using var sampler = new GroupSampler(model, new IdTokenizer(), new SamplingOptions { TopK = 1, MaxNewTokens = 8, EosTokenIds = [] });
        var completions = sampler.Sample(prompts, groupSize: 1);

        for (int row = 0; row < 2; row++)
            Assert.Equal(expected.Skip(row * 8).Take(8).Select(i => (int)i), completions[row].TokenIds);
    }

    /// <summary>The fixtures' 128 ids, decoded as numbers: the sampler only needs ids here.</summary>
    sealed class IdTokenizer : ITokenizer
    {
        public int VocabSize => 128;
        public int[] Encode(string text) => text.Split(' ').Select(int.Parse).ToArray();
        public string Decode(IEnumerable<int> ids, bool skipSpecialTokens = true) => string.Join(' ', ids);
        public int? TokenToId(string token) => int.TryParse(token, out var id) && id < VocabSize ? id : null;
    }
}
