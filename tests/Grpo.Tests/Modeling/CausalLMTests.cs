using Grpo.Modeling;
using TorchSharp;
using static TorchSharp.torch;

namespace Grpo.Tests.Modeling;

public class CausalLMTests
{
    [Theory]
    [MemberData(nameof(TestModels.Families), MemberType = typeof(TestModels))]
    public void ForwardMatchesAFloat64ReferenceWrittenFromTheArchitecture(string family)
    {
        var config = TestModels.Config(family);
        using var model = TestModels.Random(config);
        using var ids = TestModels.Ids(2, 7, config.VocabSize, seed: 3);
        using var logits = model.forward(ids);
        using var expected = ReferenceTransformer.Logits(model, ids);
        Assert.True(TestModels.MaxAbsDiff(logits, expected) < 1e-4, $"max diff {TestModels.MaxAbsDiff(logits, expected)}");
    }

    [Theory]
    [MemberData(nameof(TestModels.Families), MemberType = typeof(TestModels))]
    public void CachedDecodingGivesTheLogitsOfAFullForwardPass(string family)
    {
        var config = TestModels.Config(family);
        using var model = TestModels.Random(config);
        using var noGrad = no_grad();
        using var ids = TestModels.Ids(2, 12, config.VocabSize, seed: 4);
        using var full = model.forward(ids);

        using var cache = model.NewCache(2, 12);
        var chunks = new (long Start, long Length)[] { (0, 5), (5, 3), (8, 1), (9, 1), (10, 1), (11, 1) };
        foreach (var (start, length) in chunks)
        {
            using var hidden = model.HiddenStates(ids.narrow(1, start, length), cache: cache);
            using var logits = model.Logits(hidden);
            double diff = TestModels.MaxAbsDiff(logits, full.narrow(1, start, length));
            Assert.True(diff <= 1e-5, $"{family}: positions {start}..{start + length - 1} differ by {diff}");
        }
        Assert.Equal(12, cache.Length);
    }

    [Theory]
    [MemberData(nameof(TestModels.Families), MemberType = typeof(TestModels))]
    public void CachedDecodingOfLeftPaddedRowsMatchesTheirFullForwardPass(string family)
    {
        var config = TestModels.Config(family);
        using var model = TestModels.Random(config);
        using var noGrad = no_grad();
        using var ids = TestModels.Ids(2, 10, config.VocabSize, seed: 5);
        // Row 1 is padded on the left by 3 positions.
        using var mask = ones(2, 10, dtype: ScalarType.Int64);
        mask[1, TensorIndex.Slice(0, 3)] = tensor(0L);
        using var fullHidden = model.HiddenStates(ids, mask);
        using var full = model.Logits(fullHidden);

        using var cache = model.NewCache(2, 10);
        foreach (var (start, length) in new (long, long)[] { (0, 6), (6, 1), (7, 1), (8, 2) })
        {
            using var hidden = model.HiddenStates(ids.narrow(1, start, length), mask.narrow(1, 0, start + length), cache: cache);
            using var logits = model.Logits(hidden);
            // Row 1's padded positions hold no meaningful output; compare its real ones only.
            long realFrom = Math.Max(start, 3);
            Assert.True(TestModels.MaxAbsDiff(logits[0], full[0].narrow(0, start, length)) <= 1e-5);
            if (realFrom < start + length)
                Assert.True(TestModels.MaxAbsDiff(logits[1].narrow(0, realFrom - start, start + length - realFrom), full[1].narrow(0, realFrom, start + length - realFrom)) <= 1e-5);
        }
    }

    [Theory]
    [MemberData(nameof(TestModels.Families), MemberType = typeof(TestModels))]
    public void LeftPaddingDoesNotChangeASequencesLogits(string family)
    {
        var config = TestModels.Config(family);
        using var model = TestModels.Random(config);
        using var noGrad = no_grad();
        using var longer = TestModels.Ids(1, 9, config.VocabSize, seed: 6);
        using var shorter = TestModels.Ids(1, 5, config.VocabSize, seed: 7);
        using var alone = model.forward(shorter);

        using var padded = cat([full(1, 4, 0L, dtype: ScalarType.Int64), shorter], 1);
        using var batch = cat([longer, padded], 0);
        using var mask = cat([ones(1, 9, dtype: ScalarType.Int64), cat([zeros(1, 4, dtype: ScalarType.Int64), ones(1, 5, dtype: ScalarType.Int64)], 1)], 0);
        using var hidden = model.HiddenStates(batch, mask);
        using var logits = model.Logits(hidden);

        Assert.True(TestModels.MaxAbsDiff(logits[1].narrow(0, 4, 5), alone[0]) <= 1e-5);
        using var longerAlone = model.forward(longer);
        Assert.True(TestModels.MaxAbsDiff(logits[0], longerAlone[0]) <= 1e-5);
    }

    [Fact]
    public void ParameterNamesAreHuggingFacesForEachFamily()
    {
        using var qwen2 = Grpo.Modeling.CausalLM.Create(ModelConfig.Tiny("qwen2"), 0);
        var names = qwen2.state_dict().Keys.ToHashSet();
        Assert.Contains("model.embed_tokens.weight", names);
        Assert.Contains("model.layers.1.self_attn.q_proj.bias", names);
        Assert.Contains("model.layers.1.self_attn.v_proj.bias", names);
        Assert.DoesNotContain("model.layers.1.self_attn.o_proj.bias", names);
        Assert.Contains("model.layers.0.mlp.gate_proj.weight", names);
        Assert.Contains("model.layers.0.input_layernorm.weight", names);
        Assert.Contains("model.layers.0.post_attention_layernorm.weight", names);
        Assert.Contains("model.norm.weight", names);
        Assert.Contains("lm_head.weight", names);
        Assert.Equal(3 + 2 * (4 * 1 + 3 + 3 + 2), names.Count);   // embed, norm, head + per layer 4 proj weights, 3 biases, 3 mlp, 2 norms

        using var qwen3 = Grpo.Modeling.CausalLM.Create(ModelConfig.Tiny("qwen3") with { TieWordEmbeddings = true }, 0);
        var qwen3Names = qwen3.state_dict().Keys.ToHashSet();
        Assert.Contains("model.layers.0.self_attn.q_norm.weight", qwen3Names);
        Assert.Contains("model.layers.0.self_attn.k_norm.weight", qwen3Names);
        Assert.DoesNotContain("lm_head.weight", qwen3Names);
        Assert.DoesNotContain(qwen3Names, n => n.EndsWith(".bias") || n.Contains("inv_freq"));
        using (no_grad()) qwen3.state_dict()["model.embed_tokens.weight"].fill_(0.5);
        Assert.Equal(0.5f, qwen3.LmHeadWeight.mean().item<float>());   // the head is the embedding itself
    }

    [Fact]
    public void EveryProjectionIsAGrpoLinear()
    {
        using var model = Grpo.Modeling.CausalLM.Create(ModelConfig.Tiny("llama"), 0);
        var linears = model.named_modules().Where(m => m.module is Grpo.Modeling.Linear).Select(m => m.name).ToList();
        Assert.Equal(2 * 7 + 1, linears.Count);   // q, k, v, o, gate, up, down per layer + lm_head
        Assert.DoesNotContain(model.named_modules(), m => m.module is TorchSharp.Modules.Linear);
    }

    [Fact]
    public void TinyConfigurationHasAFewHundredThousandParameters()
    {
        using var model = Grpo.Modeling.CausalLM.Create(ModelConfig.Tiny(), 0);
        Assert.InRange(model.ParameterCount, 100_000, 900_000);
    }

    [Fact]
    public void SameSeedGivesSameWeights()
    {
        using var a = Grpo.Modeling.CausalLM.Create(ModelConfig.Tiny(), 11);
        using var b = Grpo.Modeling.CausalLM.Create(ModelConfig.Tiny(), 11);
        using var c = Grpo.Modeling.CausalLM.Create(ModelConfig.Tiny(), 12);
        Assert.Equal(0, TestModels.MaxAbsDiff(a.LmHeadWeight, b.LmHeadWeight));
        Assert.NotEqual(0, TestModels.MaxAbsDiff(a.LmHeadWeight, c.LmHeadWeight));
    }

    [Fact]
    public void Bfloat16ModelTracksItsFloat32Twin()
    {
        var config = ModelConfig.Tiny("qwen3");
        using var model32 = TestModels.Random(config);
        using var model16 = Grpo.Modeling.CausalLM.Create(config, 0, dtype: ScalarType.BFloat16);
        using (no_grad())
            foreach (var (name, p) in model16.named_parameters())
                p.copy_(model32.state_dict()[name]);
        using var ids = TestModels.Ids(1, 6, config.VocabSize, seed: 9);
        using var logits32 = model32.forward(ids);
        using var logits16 = model16.forward(ids);
        Assert.Equal(ScalarType.BFloat16, logits16.dtype);
        Assert.True(TestModels.MaxAbsDiff(logits16, logits32) < 0.05, $"diff {TestModels.MaxAbsDiff(logits16, logits32)}");
    }
}
