using Grpo.Modeling;
using Grpo.Sampling;
using Grpo.Tokenization;
using TorchSharp.PyBridge;
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
        using var noGrad = no_grad();
        using var model = Checkpoint.Load(Fixture(name));
        model.eval();
        var reference = Safetensors.LoadStateDict(Path.Combine(Fixture(name), "reference.safetensors"));
        var mask = reference["attention_mask"];

        var logits = model.Logits(model.HiddenStates(reference["input_ids"], mask));

        // transformers' logits at padding positions carry no meaning; compare the real tokens only.
        var real = mask.to(ScalarType.Bool).unsqueeze(-1);
        var diff = (logits - reference["logits"]).abs().masked_fill(real.logical_not(), 0).max().item<float>();
        Assert.True(diff < 1e-4, $"{name}: logits differ from transformers' by up to {diff}");
    }

    [Fact]
    public void DynamicRopeMatchesTransformersBeyondTheTrainedLength()
    {
        // 24 tokens against max_position_embeddings 16: transformers rescales the frequencies for this length.
        using var scope = NewDisposeScope();
        using var noGrad = no_grad();
        using var model = Checkpoint.Load(Fixture("llama-dynamic"));
        model.eval();
        var reference = Safetensors.LoadStateDict(Path.Combine(Fixture("llama-dynamic"), "reference.safetensors"));

        var logits = model.Logits(model.HiddenStates(reference["long_input_ids"]));

        var diff = (logits - reference["long_logits"]).abs().max().item<float>();
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
        var reference = Safetensors.LoadStateDict(Path.Combine(Fixture(name), "reference.safetensors"));
        var ids = reference["input_ids"].data<long>().ToArray();
        var mask = reference["attention_mask"].data<long>().ToArray();
        int length = (int)reference["input_ids"].shape[1];
        var prompts = Enumerable.Range(0, 2)
            .Select(row => Enumerable.Range(0, length).Where(j => mask[row * length + j] == 1).Select(j => (int)ids[row * length + j]).ToArray())
            .ToList();
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
