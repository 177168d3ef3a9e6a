using System.Text.Json.Nodes;
using Grpo.Modeling;

namespace Grpo.Tests.Modeling;

public class ModelConfigTests
{
    // The published config.json files of Qwen/Qwen3-0.6B, Qwen/Qwen2.5-0.5B-Instruct and meta-llama/Llama-3.2-1B.
    private const string Qwen3 = """
        {"architectures": ["Qwen3ForCausalLM"], "attention_bias": false, "attention_dropout": 0.0, "bos_token_id": 151643,
         "eos_token_id": 151645, "head_dim": 128, "hidden_act": "silu", "hidden_size": 1024, "initializer_range": 0.02,
         "intermediate_size": 3072, "max_position_embeddings": 40960, "max_window_layers": 28, "model_type": "qwen3",
         "num_attention_heads": 16, "num_hidden_layers": 28, "num_key_value_heads": 8, "rms_norm_eps": 1e-06,
         "rope_scaling": null, "rope_theta": 1000000, "sliding_window": null, "tie_word_embeddings": true,
         "torch_dtype": "bfloat16", "transformers_version": "4.51.0", "use_cache": true, "use_sliding_window": false, "vocab_size": 151936}
        """;

    private const string Qwen25 = """
        {"architectures": ["Qwen2ForCausalLM"], "attention_dropout": 0.0, "bos_token_id": 151643, "eos_token_id": 151645,
         "hidden_act": "silu", "hidden_size": 896, "initializer_range": 0.02, "intermediate_size": 4864,
         "max_position_embeddings": 32768, "max_window_layers": 21, "model_type": "qwen2", "num_attention_heads": 14,
         "num_hidden_layers": 24, "num_key_value_heads": 2, "rms_norm_eps": 1e-06, "rope_theta": 1000000.0,
         "sliding_window": 32768, "tie_word_embeddings": true, "torch_dtype": "bfloat16", "transformers_version": "4.43.1",
         "use_cache": true, "use_sliding_window": false, "vocab_size": 151936}
        """;

    private const string Llama32 = """
        {"architectures": ["LlamaForCausalLM"], "attention_bias": false, "attention_dropout": 0.0, "bos_token_id": 128000,
         "eos_token_id": [128001, 128008, 128009], "head_dim": 64, "hidden_act": "silu", "hidden_size": 2048,
         "initializer_range": 0.02, "intermediate_size": 8192, "max_position_embeddings": 131072, "mlp_bias": false,
         "model_type": "llama", "num_attention_heads": 32, "num_hidden_layers": 16, "num_key_value_heads": 8,
         "pretraining_tp": 1, "rms_norm_eps": 1e-05,
         "rope_scaling": {"factor": 32.0, "high_freq_factor": 4.0, "low_freq_factor": 1.0, "original_max_position_embeddings": 8192, "rope_type": "llama3"},
         "rope_theta": 500000.0, "tie_word_embeddings": true, "torch_dtype": "bfloat16", "transformers_version": "4.45.0.dev0",
         "use_cache": true, "vocab_size": 128256}
        """;

    private static ModelConfig Parse(string json) => ModelConfig.FromJson(JsonNode.Parse(json)!.AsObject(), "'test/config.json'");

    private static string With(string json, string field, JsonNode? value)
    {
        var obj = JsonNode.Parse(json)!.AsObject();
        obj[field] = value;
        return obj.ToJsonString();
    }

    private static string Without(string json, string field)
    {
        var obj = JsonNode.Parse(json)!.AsObject();
        obj.Remove(field);
        return obj.ToJsonString();
    }

    [Fact]
    public void Qwen3ConfigHasExplicitHeadDimAndQkNorm()
    {
        var c = Parse(Qwen3);
        Assert.Equal(128, c.HeadDim);   // not 1024 / 16
        Assert.Equal(8, c.NumKeyValueHeads);
        Assert.True(c.QkNorm);
        Assert.False(c.QkvBias);
        Assert.False(c.OutputBias);
        Assert.True(c.TieWordEmbeddings);
        Assert.Null(c.RopeScaling);
        Assert.Equal(1_000_000, c.RopeTheta);
        Assert.Equal([151645], c.EosTokenIds);
        Assert.Equal(TorchSharp.torch.ScalarType.BFloat16, c.WeightsDtype);
    }

    [Fact]
    public void Qwen2ConfigHasQkvBiasButNoOutputBias()
    {
        var c = Parse(Qwen25);
        Assert.Equal(64, c.HeadDim);   // 896 / 14
        Assert.True(c.QkvBias);
        Assert.False(c.OutputBias);
        Assert.False(c.QkNorm);
        Assert.Equal(1e-6, c.RmsNormEps);
    }

    [Fact]
    public void LlamaConfigReadsLlama3RopeScalingAndEosList()
    {
        var c = Parse(Llama32);
        Assert.Equal(new RopeScaling { Type = "llama3", Factor = 32, LowFreqFactor = 1, HighFreqFactor = 4, OriginalMaxPositionEmbeddings = 8192 }, c.RopeScaling);
        Assert.Equal([128001, 128008, 128009], c.EosTokenIds);
        Assert.Equal(128000, c.BosTokenId);
        Assert.False(c.QkvBias);
        Assert.False(c.QkNorm);
    }

    [Fact]
    public void LegacyTypeKeyAndAttentionBiasAreRead()
    {
        var c = Parse(With(With(Llama32, "rope_scaling", new JsonObject { ["type"] = "linear", ["factor"] = 2.0 }), "attention_bias", true));
        Assert.Equal("linear", c.RopeScaling!.Type);
        Assert.Equal(2.0, c.RopeScaling.Factor);
        Assert.True(c.QkvBias);
        Assert.True(c.OutputBias);
    }

    [Fact]
    public void YarnWithoutFactorTakesTheRatioOfContextLengths()
    {
        var c = Parse(With(Qwen3, "rope_scaling", new JsonObject { ["rope_type"] = "yarn", ["original_max_position_embeddings"] = 10240 }));
        Assert.Equal(4.0, c.RopeScaling!.Factor);   // 40960 / 10240
    }

    [Theory]
    [InlineData(Qwen3)]
    [InlineData(Qwen25)]
    [InlineData(Llama32)]
    public void ToJsonReadsBackToTheSameConfig(string json)
    {
        var c = Parse(json);
        var back = ModelConfig.FromJson(JsonNode.Parse(c.ToJson())!.AsObject(), "round trip");
        Assert.Equal(c with { Source = null, EosTokenIds = [] }, back with { Source = null, EosTokenIds = [] });
        Assert.Equal(c.EosTokenIds, back.EosTokenIds);
        Assert.Equal("silu", JsonNode.Parse(c.ToJson())!["hidden_act"]!.GetValue<string>());
    }

    [Fact]
    public void UnsupportedModelTypeIsNamed()
    {
        var e = Assert.Throws<NotSupportedException>(() => Parse(With(Qwen3, "model_type", "mistral")));
        Assert.Contains("'mistral'", e.Message);
        Assert.Contains("test/config.json", e.Message);
        Assert.Contains("qwen2, qwen3, llama", e.Message);
    }

    [Fact]
    public void MissingFieldIsNamedWithTheFile()
    {
        var e = Assert.Throws<InvalidDataException>(() => Parse(Without(Qwen3, "hidden_size")));
        Assert.Contains("'hidden_size'", e.Message);
        Assert.Contains("test/config.json", e.Message);
    }

    [Theory]
    [InlineData("num_key_value_heads", "3", "num_key_value_heads")]
    [InlineData("hidden_size", "\"big\"", "hidden_size")]
    [InlineData("num_hidden_layers", "0", "num_hidden_layers")]
    [InlineData("head_dim", "127", "head_dim")]
    [InlineData("eos_token_id", "200000", "outside the vocabulary")]
    [InlineData("torch_dtype", "\"int8\"", "torch_dtype")]
    [InlineData("rope_scaling", "{\"rope_type\": \"longrope\"}", "longrope")]
    [InlineData("rope_scaling", "{\"rope_type\": \"llama3\", \"factor\": 8.0}", "low_freq_factor")]
    [InlineData("rope_scaling", "{\"rope_type\": \"linear\"}", "'factor'")]
    public void BadFieldsAreReportedByName(string field, string value, string expected)
    {
        var e = Assert.ThrowsAny<Exception>(() => Parse(With(Qwen3, field, JsonNode.Parse(value))));
        Assert.True(e is InvalidDataException or NotSupportedException, e.GetType().Name);
        Assert.Contains(expected, e.Message);
        Assert.Contains("test/config.json", e.Message);
    }

    [Fact]
    public void SlidingWindowIsRefusedRatherThanIgnored()
    {
        var e = Assert.Throws<NotSupportedException>(() => Parse(With(Qwen25, "use_sliding_window", true)));
        Assert.Contains("use_sliding_window", e.Message);
    }

    [Fact]
    public void MalformedFileIsNamed()
    {
        var path = Path.Combine(TestModels.TempFolder(), "config.json");
        File.WriteAllText(path, "{ \"model_type\": ");
        var e = Assert.Throws<InvalidDataException>(() => ModelConfig.Load(path));
        Assert.Contains(path, e.Message);
    }
}
