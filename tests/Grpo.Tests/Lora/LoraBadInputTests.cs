using System.Text.Json.Nodes;
using Grpo.Lora;
using TorchSharp.PyBridge;
using static TorchSharp.torch;
using Linear = Grpo.Modeling.Linear;

namespace Grpo.Tests.Lora;

/// <summary>Bad options, targets and adapter files get a clear error, raised before the model is changed.</summary>
public sealed class LoraBadInputTests : IDisposable
{
    readonly DirectoryInfo temp = Directory.CreateTempSubdirectory("grpo-lora-bad-");

    public void Dispose() => temp.Delete(recursive: true);

    static string Fixture => Path.Combine(AppContext.BaseDirectory, "Fixtures", "hf-reference", "qwen3-qknorm-tied-lora");

    static void AssertUntouched(nn.Module model)
    {
        Assert.All(model.named_modules(), m => Assert.True(m.module is not Linear { lora: not null }, $"{m.name} got an adapter"));
        Assert.All(model.named_parameters(), p => Assert.True(p.parameter.requires_grad, $"{p.name} was frozen"));
    }

    [Theory]
    [InlineData(0, 8.0, 0.0)]
    [InlineData(-2, 8.0, 0.0)]
    [InlineData(8, 0.0, 0.0)]
    [InlineData(8, -1.0, 0.0)]
    [InlineData(8, double.NaN, 0.0)]
    [InlineData(8, 8.0, 1.0)]
    [InlineData(8, 8.0, -0.1)]
    public void OptionsOutOfRangeAreRefused(int rank, double alpha, double dropout)
    {
        using var model = new TinyDecoder();
        var e = Assert.Throws<ArgumentException>(() => LoraModel.Apply(model, new LoraOptions { Rank = rank, Alpha = alpha, Dropout = dropout }));
        Assert.Matches("rank|alpha|dropout", e.Message);
        AssertUntouched(model);
    }

    [Fact]
    public void ATargetThatMatchesNothingIsNamedWithTheLayersThatExist()
    {
        using var model = new TinyDecoder();
        var e = Assert.Throws<ArgumentException>(() => LoraModel.Apply(model, new LoraOptions { TargetModules = ["q_proj", "qkv_proj"] }));
        Assert.Contains("\"qkv_proj\" matches no module", e.Message);
        Assert.Contains("gate_proj", e.Message);
        AssertUntouched(model);
    }

    [Fact]
    public void ATargetThatIsNotALinearLayerIsRefused()
    {
        using var model = new TinyDecoder();
        var e = Assert.Throws<ArgumentException>(() => LoraModel.Apply(model, new LoraOptions { TargetModules = ["mlp"] }));
        Assert.Contains("not a Linear layer", e.Message);
        AssertUntouched(model);
    }

    [Fact]
    public void AllLinearWithOtherNamesIsRefused()
    {
        using var model = new TinyDecoder();
        Assert.Throws<ArgumentException>(() => LoraModel.Apply(model, new LoraOptions { TargetModules = [LoraOptions.AllLinear, "q_proj"] }));
        AssertUntouched(model);
    }

    [Fact]
    public void AnAdapterForAnotherModelSizeIsRefused()
    {
        using var model = new TinyDecoder(hidden: 16, qOut: 16, kvOut: 8, intermediate: 32);
        var e = Assert.Throws<InvalidOperationException>(() => LoraModel.Load(model, Fixture));
        Assert.Contains("does not fit", e.Message);
        Assert.Contains("[4, 32]", e.Message);
        AssertUntouched(model);
    }

    [Fact]
    public void AnAdapterForLayersTheModelLacksIsRefused()
    {
        using var model = new TinyDecoder(layers: 1);
        var e = Assert.Throws<InvalidOperationException>(() => LoraModel.Load(model, Fixture));
        Assert.Contains("model.layers.1.", e.Message);
        AssertUntouched(model);
    }

    [Fact]
    public void AnAdapterForAnotherBaseModelIsRefusedUnlessTheCheckIsSkipped()
    {
        using var model = new TinyDecoder();
        var e = Assert.Throws<InvalidOperationException>(() => LoraModel.Load(model, Fixture, "Qwen/Qwen3-0.6B"));
        Assert.Contains("/tmp/hf/qwen3-qknorm-tied", e.Message);
        Assert.Contains("Qwen/Qwen3-0.6B", e.Message);
        AssertUntouched(model);

        Assert.Equal(14, LoraModel.Load(model, Fixture, baseModelNameOrPath: null).Layers.Count);
    }

    [Fact]
    public void LoadingOrApplyingTwiceIsRefusedAndKeepsTheFirstAdapter()
    {
        using var model = new TinyDecoder();
        var first = LoraModel.Load(model, Fixture);
        var adapters = first.Layers.Select(l => l.Layer.lora!).ToList();
        using var ids = TinyDecoder.SampleIds();
        using var before = model.forward(ids);

        Assert.Contains("already has LoRA adapters", Assert.Throws<InvalidOperationException>(() => LoraModel.Load(model, Fixture)).Message);
        Assert.Contains("already has LoRA adapters", Assert.Throws<InvalidOperationException>(() => LoraModel.Apply(model, new LoraOptions())).Message);

        Assert.Equal(adapters, first.Layers.Select(l => l.Layer.lora!));
        using var after = model.forward(ids);
        TensorAssert.BitEqual(before, after);
    }

    [Fact]
    public void MissingFilesAreNamed()
    {
        using var model = new TinyDecoder();
        Assert.Contains("adapter_config.json", Assert.Throws<FileNotFoundException>(() => LoraModel.Load(model, temp.FullName)).Message);
        File.Copy(Path.Combine(Fixture, "adapter_config.json"), Path.Combine(temp.FullName, "adapter_config.json"));
        Assert.Contains("adapter_model.safetensors", Assert.Throws<FileNotFoundException>(() => LoraModel.Load(model, temp.FullName)).Message);
        AssertUntouched(model);
    }

    [Theory]
    [InlineData("use_dora", "true", "DoRA")]
    [InlineData("peft_type", "\"IA3\"", "LORA")]
    [InlineData("r", "0", "r must be a positive integer")]
    [InlineData("lora_alpha", "-4", "alpha")]
    [InlineData("bias", "\"all\"", "bias")]
    [InlineData("rank_pattern", "{\"q_proj\": 8}", "per-module")]
    [InlineData("modules_to_save", "[\"lm_head\"]", "modules_to_save")]
    [InlineData("lora_dropout", "\"high\"", "wrong JSON type")]
    public void UnsupportedOrMalformedConfigsAreRefused(string key, string json, string expected)
    {
        var config = JsonNode.Parse(File.ReadAllText(Path.Combine(Fixture, "adapter_config.json")))!.AsObject();
        config[key] = JsonNode.Parse(json);
        File.WriteAllText(Path.Combine(temp.FullName, "adapter_config.json"), config.ToJsonString());
        File.Copy(Path.Combine(Fixture, "adapter_model.safetensors"), Path.Combine(temp.FullName, "adapter_model.safetensors"));
        using var model = new TinyDecoder();

        var e = Assert.Throws<InvalidDataException>(() => LoraModel.Load(model, temp.FullName));
        Assert.Contains(expected, e.Message);
        Assert.Contains("adapter_config.json", e.Message);
        AssertUntouched(model);
    }

    [Theory]
    [InlineData("base_model.model.model.layers.0.self_attn.q_proj.lora_A.weight", "lora_A but no lora_B")]
    [InlineData("base_model.model.model.embed_tokens.lora_embedding_A", "not a LoRA weight")]
    public void WeightFilesWithOtherTensorsAreRefused(string key, string expected)
    {
        File.Copy(Path.Combine(Fixture, "adapter_config.json"), Path.Combine(temp.FullName, "adapter_config.json"));
        using (var stream = File.Create(Path.Combine(temp.FullName, "adapter_model.safetensors")))
            Safetensors.SaveStateDict(stream, new Dictionary<string, Tensor> { [key] = zeros(4, 32) });
        using var model = new TinyDecoder();

        var e = Assert.Throws<InvalidDataException>(() => LoraModel.Load(model, temp.FullName));
        Assert.Contains(expected, e.Message);
        AssertUntouched(model);
    }
}
