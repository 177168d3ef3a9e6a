using System.Buffers.Binary;
using System.Text;
using System.Text.Json.Nodes;
using Grpo.Modeling;
using Grpo.Tests.Sampling;
using TorchSharp;
using static TorchSharp.torch;

namespace Grpo.Tests.Modeling;

public class CheckpointTests
{
    [Theory]
    [MemberData(nameof(TestModels.Families), MemberType = typeof(TestModels))]
    public void SavedAndReloadedModelGivesIdenticalLogits(string family)
    {
        var config = TestModels.Config(family);
        var folder = TestModels.TempFolder();
        using var model = TestModels.Random(config);
        Checkpoint.Save(model, folder);
        using var reloaded = Checkpoint.Load(folder);

        using var ids = TestModels.Ids(2, 8, config.VocabSize, seed: 2);
        using var before = model.forward(ids);
        using var after = reloaded.forward(ids);
        Assert.Equal(0, TestModels.MaxAbsDiff(before, after));
        Assert.Equal(config with { Source = null }, reloaded.Config with { Source = null });
        Assert.Equal(config.TieWordEmbeddings, !reloaded.state_dict().ContainsKey("lm_head.weight"));
    }

    [Fact]
    public void Bfloat16WeightsRoundTripExactly()
    {
        var folder = TestModels.TempFolder();
        using var model = Grpo.Modeling.CausalLM.Create(ModelConfig.Tiny("qwen3"), 3, dtype: ScalarType.BFloat16);
        Checkpoint.Save(model, folder);
        Assert.Equal("bfloat16", JsonNode.Parse(File.ReadAllText(Path.Combine(folder, "config.json")))!["torch_dtype"]!.GetValue<string>());
        Assert.Equal("BF16", ReadHeader(Path.Combine(folder, "model.safetensors"))["model.norm.weight"]!["dtype"]!.GetValue<string>());

        using var reloaded = Checkpoint.Load(folder, dtype: ScalarType.BFloat16);
        using var ids = TestModels.Ids(1, 6, 320, seed: 1);
        using var a = model.forward(ids);
        using var b = reloaded.forward(ids);
        Assert.Equal(0, TestModels.MaxAbsDiff(a, b));

        // The same bfloat16 file loads into float32 when asked (as from_pretrained without torch_dtype does).
        using var widened = Checkpoint.Load(folder, dtype: ScalarType.Float32);
        Assert.Equal(ScalarType.Float32, widened.LmHeadWeight.dtype);
        Assert.Equal(0, TestModels.MaxAbsDiff(widened.LmHeadWeight, model.LmHeadWeight));
    }

    [Fact]
    public void ShardedCheckpointIsWrittenAndReadWithItsIndex()
    {
        var folder = TestModels.TempFolder();
        using var model = TestModels.Random(ModelConfig.Tiny("qwen2"));
        Checkpoint.Save(model, folder, maxShardBytes: 200_000);

        var index = JsonNode.Parse(File.ReadAllText(Path.Combine(folder, "model.safetensors.index.json")))!;
        var weightMap = index["weight_map"]!.AsObject();
        var files = weightMap.Select(kv => kv.Value!.GetValue<string>()).Distinct().Order().ToList();
        Assert.True(files.Count > 1);
        Assert.Equal(Enumerable.Range(1, files.Count).Select(k => $"model-{k:D5}-of-{files.Count:D5}.safetensors"), files);
        Assert.False(File.Exists(Path.Combine(folder, "model.safetensors")));
        Assert.Equal(model.state_dict().Keys.Order(), weightMap.Select(kv => kv.Key).Order());
        long totalBytes = model.state_dict().Values.Sum(t => t.numel() * 4);
        Assert.Equal(totalBytes, index["metadata"]!["total_size"]!.GetValue<long>());

        using var reloaded = Checkpoint.Load(folder);
        using var ids = TestModels.Ids(1, 5, 320, seed: 8);
        using var a = model.forward(ids);
        using var b = reloaded.forward(ids);
        Assert.Equal(0, TestModels.MaxAbsDiff(a, b));

        // Saving again unsharded replaces the shards instead of leaving a stale index behind.
        Checkpoint.Save(model, folder);
        Assert.Equal(["model.safetensors"], Directory.GetFiles(folder, "model*").Select(Path.GetFileName));
    }

    [Fact]
    public void SavedFilesCarryPtMetadataAndAnAlignedHeader()
    {
        var folder = TestModels.TempFolder();
        using var model = Grpo.Modeling.CausalLM.Create(ModelConfig.Tiny("llama"), 1);
        Checkpoint.Save(model, folder);
        var bytes = File.ReadAllBytes(Path.Combine(folder, "model.safetensors"));
        var headerLength = BinaryPrimitives.ReadUInt64LittleEndian(bytes);
        Assert.Equal(0UL, headerLength % 8);
        var header = ReadHeader(Path.Combine(folder, "model.safetensors"));
        Assert.Equal("pt", header["__metadata__"]!["format"]!.GetValue<string>());
        var embed = header["model.embed_tokens.weight"]!;
        Assert.Equal([320L, 96L], embed["shape"]!.AsArray().Select(n => n!.GetValue<long>()));
        // The embedding's first float is where its offsets say.
        long begin = embed["data_offsets"]![0]!.GetValue<long>();
        float first = BitConverter.ToSingle(bytes, (int)(8 + (long)headerLength + begin));
        Assert.Equal(model.state_dict()["model.embed_tokens.weight"][0, 0].item<float>(), first);
    }

    [Fact]
    public void FilesWrittenByPyBridgeWithoutMetadataLoad()
    {
        var folder = TestModels.TempFolder();
        using var model = TestModels.Random(ModelConfig.Tiny("qwen3"));
        Checkpoint.Save(model, folder);
        File.Delete(Path.Combine(folder, "model.safetensors"));
        // PyBridge writes contiguous tensors only, and wide float32 weights are column-major views (WeightLayout).
        var rowMajor = model.state_dict().ToDictionary(kv => kv.Key, kv => kv.Value.contiguous());
        TorchSharp.PyBridge.Safetensors.SaveStateDict(Path.Combine(folder, "model.safetensors"), rowMajor);
        using var reloaded = Checkpoint.Load(folder);
        Assert.Equal(0, TestModels.MaxAbsDiff(reloaded.LmHeadWeight, model.LmHeadWeight));
    }

    [Fact]
    public void GenerationConfigEosListIsReadAndPreferredOverConfigJson()
    {
        var folder = TestModels.TempFolder();
        using (var model = Grpo.Modeling.CausalLM.Create(ModelConfig.Tiny("llama") with { EosTokenIds = [5] }, 1))
            Checkpoint.Save(model, folder);
        var genPath = Path.Combine(folder, "generation_config.json");
        Assert.Equal(5, JsonNode.Parse(File.ReadAllText(genPath))!["eos_token_id"]!.GetValue<int>());

        File.WriteAllText(genPath, """{"bos_token_id": 1, "eos_token_id": [7, 9], "temperature": 0.6}""");
        using var loaded = Checkpoint.Load(folder);
        Assert.Equal([7, 9], loaded.EosTokenIds);
        Checkpoint.Save(loaded, folder);
        var saved = JsonNode.Parse(File.ReadAllText(genPath))!;
        Assert.Equal(0.6, saved["temperature"]!.GetValue<double>());   // fields we do not model survive
        Assert.Equal([7, 9], saved["eos_token_id"]!.AsArray().Select(n => n!.GetValue<int>()));
    }

    // ---- bad input ----

    private static string SavedTiny(string modelType = "qwen3")
    {
        var folder = TestModels.TempFolder();
        using var model = Grpo.Modeling.CausalLM.Create(ModelConfig.Tiny(modelType), 1);
        Checkpoint.Save(model, folder);
        return folder;
    }

    private static void EditConfig(string folder, string field, JsonNode value)
    {
        var path = Path.Combine(folder, "config.json");
        var obj = JsonNode.Parse(File.ReadAllText(path))!.AsObject();
        obj[field] = value;
        File.WriteAllText(path, obj.ToJsonString());
    }

    [Fact]
    public void MissingFolderIsNamed()
    {
        var e = Assert.Throws<DirectoryNotFoundException>(() => Checkpoint.Load("/nonexistent/model"));
        Assert.Contains("/nonexistent/model", e.Message);
    }

    [Fact]
    public void MissingConfigIsNamed()
    {
        var folder = SavedTiny();
        File.Delete(Path.Combine(folder, "config.json"));
        var e = Assert.Throws<FileNotFoundException>(() => Checkpoint.Load(folder));
        Assert.Contains("config.json", e.Message);
    }

    [Fact]
    public void MissingWeightsListWhatIsThere()
    {
        var folder = SavedTiny();
        File.Move(Path.Combine(folder, "model.safetensors"), Path.Combine(folder, "pytorch_model.bin"));
        var e = Assert.Throws<FileNotFoundException>(() => Checkpoint.Load(folder));
        Assert.Contains("model.safetensors", e.Message);
        Assert.Contains("pytorch_model.bin", e.Message);
    }

    [Fact]
    public void TruncatedWeightsFileIsReportedBeforeLoading()
    {
        var folder = SavedTiny();
        var path = Path.Combine(folder, "model.safetensors");
        var bytes = File.ReadAllBytes(path);
        File.WriteAllBytes(path, bytes[..(bytes.Length - 100)]);
        var e = Assert.Throws<InvalidDataException>(() => Checkpoint.Load(folder));
        Assert.Contains(path, e.Message);
        Assert.Contains("truncated", e.Message);
    }

    [Fact]
    public void GarbageHeaderIsReported()
    {
        var folder = SavedTiny();
        var path = Path.Combine(folder, "model.safetensors");
        var bytes = File.ReadAllBytes(path);
        bytes[8] = (byte)'x';
        File.WriteAllBytes(path, bytes);
        var e = Assert.Throws<InvalidDataException>(() => Checkpoint.Load(folder));
        Assert.Contains(path, e.Message);
        Assert.Contains("not valid JSON", e.Message);
    }

    [Fact]
    public void ShapeMismatchNamesTheTensorAndBothShapes()
    {
        var folder = SavedTiny();
        EditConfig(folder, "intermediate_size", 128);
        var e = Assert.Throws<InvalidDataException>(() => Checkpoint.Load(folder));
        Assert.Contains("model.layers.0.mlp.gate_proj.weight", e.Message);
        Assert.Contains("[256, 96]", e.Message);
        Assert.Contains("[128, 96]", e.Message);
    }

    [Fact]
    public void ExtraLayersInTheWeightsAreReported()
    {
        var folder = SavedTiny();
        EditConfig(folder, "num_hidden_layers", 1);
        var e = Assert.Throws<InvalidDataException>(() => Checkpoint.Load(folder));
        Assert.Contains("model.layers.1.", e.Message);
    }

    [Fact]
    public void MissingTensorsAreReported()
    {
        var folder = SavedTiny();
        EditConfig(folder, "num_hidden_layers", 3);
        var e = Assert.Throws<InvalidDataException>(() => Checkpoint.Load(folder));
        Assert.Contains("model.layers.2.", e.Message);
        Assert.Contains("lacks", e.Message);
    }

    [Fact]
    public void UntyingTheHeadWithoutItsWeightIsReported()
    {
        var folder = TestModels.TempFolder();
        using (var model = Grpo.Modeling.CausalLM.Create(ModelConfig.Tiny("qwen3") with { TieWordEmbeddings = true }, 1))
            Checkpoint.Save(model, folder);
        EditConfig(folder, "tie_word_embeddings", false);
        var e = Assert.Throws<InvalidDataException>(() => Checkpoint.Load(folder));
        Assert.Contains("'lm_head.weight'", e.Message);
    }

    [Fact]
    public void IndexNamingAMissingShardIsReported()
    {
        var folder = TestModels.TempFolder();
        using (var model = Grpo.Modeling.CausalLM.Create(ModelConfig.Tiny("qwen3"), 1))
            Checkpoint.Save(model, folder, maxShardBytes: 300_000);
        var shard = Directory.GetFiles(folder, "model-00002-of-*.safetensors").Single();
        File.Delete(shard);
        var e = Assert.Throws<FileNotFoundException>(() => Checkpoint.Load(folder));
        Assert.Contains(Path.GetFileName(shard), e.Message);
    }

    [Fact]
    public void TokenizerLargerThanTheEmbeddingIsRefused()
    {
        using var model = Grpo.Modeling.CausalLM.Create(ModelConfig.Tiny("qwen3", vocabSize: 200), 1);
        var e = Assert.Throws<InvalidDataException>(() => model.EnsureFits(new ByteTokenizer()));
        Assert.Contains("257", e.Message);
        Assert.Contains("200", e.Message);
        Assert.Contains("vocab_size", e.Message);
    }

    private static JsonObject ReadHeader(string path)
    {
        var bytes = File.ReadAllBytes(path);
        var length = (int)BinaryPrimitives.ReadUInt64LittleEndian(bytes);
        return JsonNode.Parse(Encoding.UTF8.GetString(bytes, 8, length))!.AsObject();
    }
}
