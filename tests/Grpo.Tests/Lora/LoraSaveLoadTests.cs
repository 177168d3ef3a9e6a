using System.Text.Json.Nodes;
using Grpo.Lora;
using static TorchSharp.torch;

namespace Grpo.Tests.Lora;

/// <summary>Saving and loading in Hugging Face PEFT's layout, checked against adapters written by PEFT 0.21.0.</summary>
public sealed class LoraSaveLoadTests : IDisposable
{
    const string FixtureBase = "/tmp/hf/qwen3-qknorm-tied";  // base_model_name_or_path in the fixtures' configs
    readonly DirectoryInfo temp = Directory.CreateTempSubdirectory("grpo-lora-");

    public void Dispose() => temp.Delete(recursive: true);

    static string Fixture(string name) => Path.Combine(AppContext.BaseDirectory, "Fixtures", "hf-reference", name);

    [Fact]
    public void SaveThenLoadIsBitExact()
    {
        using var trained = new TinyDecoder();
        var options = new LoraOptions { Rank = 4, Alpha = 12, Dropout = 0.05, UseRsLora = true, TargetModules = [LoraOptions.AllLinear] };
        var saved = LoraModel.Apply(trained, options, "my/base");
        using (no_grad())
            foreach (var (_, layer) in saved.Layers) { layer.lora!.A.normal_(); layer.lora!.B.normal_(); }
        saved.Save(temp.FullName);

        using var fresh = new TinyDecoder();
        var loaded = LoraModel.Load(fresh, temp.FullName, "my/base");

        Assert.Equal(saved.Layers.Select(l => l.Path), loaded.Layers.Select(l => l.Path));
        for (var i = 0; i < saved.Layers.Count; i++)
        {
            TensorAssert.BitEqual(saved.Layers[i].Layer.lora!.A, loaded.Layers[i].Layer.lora!.A, saved.Layers[i].Path);
            TensorAssert.BitEqual(saved.Layers[i].Layer.lora!.B, loaded.Layers[i].Layer.lora!.B, saved.Layers[i].Path);
        }
        Assert.Equal((4, 12.0, 0.05, true), (loaded.Options.Rank, loaded.Options.Alpha, loaded.Options.Dropout, loaded.Options.UseRsLora));
        Assert.Equal("my/base", loaded.BaseModelNameOrPath);
        trained.eval();
        fresh.eval();
        using var ids = TinyDecoder.SampleIds();
        TensorAssert.BitEqual(trained.forward(ids), fresh.forward(ids), "output");
    }

    [Theory]
    [InlineData("qwen3-qknorm-tied-lora", false, 2.0)]
    [InlineData("qwen3-qknorm-tied-rslora", true, 4.0)]
    public void LoadsAdaptersWrittenByPeft(string name, bool rsLora, double scale)
    {
        var file = new SafetensorsFile(Path.Combine(Fixture(name), "adapter_model.safetensors"));
        using var model = new TinyDecoder();

        var lora = LoraModel.Load(model, Fixture(name), FixtureBase);

        Assert.Equal((4, 8.0, 0.0, rsLora), (lora.Options.Rank, lora.Options.Alpha, lora.Options.Dropout, lora.Options.UseRsLora));
        Assert.Equal(FixtureBase, lora.BaseModelNameOrPath);
        var expectedPaths = file.Entries.Keys.Where(k => k.EndsWith(".lora_A.weight"))
            .Select(k => k["base_model.model.".Length..^".lora_A.weight".Length]).Order();
        Assert.Equal(expectedPaths, lora.Layers.Select(l => l.Path).Order());
        foreach (var (path, layer) in lora.Layers)
        {
            Assert.Equal(scale, layer.lora!.Scale);
            Assert.Equal(file.Floats($"base_model.model.{path}.lora_A.weight"), layer.lora.A.data<float>().ToArray());
            Assert.Equal(file.Floats($"base_model.model.{path}.lora_B.weight"), layer.lora.B.data<float>().ToArray());
        }

        // And back out: the same names, shapes and bits as PEFT wrote.
        lora.Save(temp.FullName);
        var ours = new SafetensorsFile(Path.Combine(temp.FullName, "adapter_model.safetensors"));
        Assert.Equal(file.Entries.Keys.Order(), ours.Entries.Keys.Order());
        foreach (var key in file.Entries.Keys) Assert.Equal(file.Floats(key), ours.Floats(key));
    }

    [Theory]
    [InlineData("qwen3-qknorm-tied-lora", false)]
    [InlineData("qwen3-qknorm-tied-rslora", true)]
    public void SaveWritesPeftsKeysShapesAndConfig(string name, bool rsLora)
    {
        using var model = new TinyDecoder();
        var lora = LoraModel.Apply(model, new LoraOptions { Rank = 4, Alpha = 8, UseRsLora = rsLora }, FixtureBase);
        lora.Save(temp.FullName);

        var peft = new SafetensorsFile(Path.Combine(Fixture(name), "adapter_model.safetensors"));
        var ours = new SafetensorsFile(Path.Combine(temp.FullName, "adapter_model.safetensors"));
        Assert.Equal(peft.Entries.Keys.Order(), ours.Entries.Keys.Order());
        foreach (var (key, entry) in peft.Entries)
        {
            Assert.Equal(entry.Dtype, ours.Entries[key].Dtype);
            Assert.Equal(entry.Shape, ours.Entries[key].Shape);
        }

        var peftConfig = JsonNode.Parse(File.ReadAllText(Path.Combine(Fixture(name), "adapter_config.json")))!.AsObject();
        var ourConfig = JsonNode.Parse(File.ReadAllText(Path.Combine(temp.FullName, "adapter_config.json")))!.AsObject();
        Assert.Equal(peftConfig.Select(p => p.Key).Order(), ourConfig.Select(p => p.Key).Order());
        foreach (var (key, value) in peftConfig)
        {
            switch (key)
            {
                case "init_lora_weights":  // the fixture skipped PEFT's init to get non-zero B; ours is PEFT's default init
                    Assert.True(ourConfig[key]!.GetValue<bool>());
                    break;
                case "target_modules":     // PEFT writes a set, in no fixed order
                    Assert.Equal(value!.AsArray().Select(v => v!.GetValue<string>()).Order(), ourConfig[key]!.AsArray().Select(v => v!.GetValue<string>()).Order());
                    break;
                default:
                    Assert.True(JsonNode.DeepEquals(value, ourConfig[key]), $"{key}: PEFT wrote {value?.ToJsonString() ?? "null"}, we wrote {ourConfig[key]?.ToJsonString() ?? "null"}");
                    break;
            }
        }
    }
}
