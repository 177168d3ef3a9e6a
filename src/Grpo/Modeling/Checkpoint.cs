using System.Text.Json;
using System.Text.Json.Nodes;
using TorchSharp;
using TorchSharp.PyBridge;
using static TorchSharp.torch;

namespace Grpo.Modeling;

/// <summary>
/// Loads and saves a model folder in the layout of Hugging Face's <c>save_pretrained</c>: <c>config.json</c>,
/// <c>generation_config.json</c>, and the weights as <c>model.safetensors</c> or as shards
/// <c>model-0000k-of-0000n.safetensors</c> listed in <c>model.safetensors.index.json</c>. Every name, shape and
/// dtype is checked against the config from the file headers before a single weight is read.
/// </summary>
public static class Checkpoint
{
    /// <summary>config.json.</summary>
    public const string ConfigFileName = "config.json";
    /// <summary>The single-file weights name.</summary>
    public const string WeightsFileName = "model.safetensors";
    /// <summary>The shard index name.</summary>
    public const string IndexFileName = "model.safetensors.index.json";

    /// <summary>Hugging Face's default shard size, "5GB" (decimal).</summary>
    public const long DefaultMaxShardBytes = 5_000_000_000;

    /// <summary>
    /// Loads the model in <paramref name="folder"/> onto <paramref name="device"/> (default CPU), converting the
    /// weights to <paramref name="dtype"/>. Null (the default) follows config.json's <c>torch_dtype</c> where the
    /// device computes in it natively and is float32 elsewhere (<see cref="ComputeDtype.Default(ScalarType, Device)"/>),
    /// as transformers' <c>from_pretrained(torch_dtype="auto")</c> does on hardware that supports it.
    /// </summary>
    public static CausalLM Load(string folder, Device? device = null, ScalarType? dtype = null)
    {
        if (!Directory.Exists(folder))
            throw new DirectoryNotFoundException($"Model folder '{folder}' does not exist.");
        var config = ModelConfig.Load(Path.Combine(folder, ConfigFileName));
        device ??= CPU;
        var generationPath = Path.Combine(folder, GenerationConfig.FileName);
        var generation = File.Exists(generationPath) ? GenerationConfig.Load(generationPath) : new GenerationConfig();
        foreach (var id in generation.EosTokenIds)
            if (id < 0 || id >= config.VocabSize)
                throw new InvalidDataException($"'{generationPath}': eos_token_id {id} is outside the vocabulary (vocab_size {config.VocabSize} in config.json).");

        var shards = WeightFiles(folder);
        var model = new CausalLM(config, device, dtype ?? ComputeDtype.Default(config.WeightsDtype, device)) { GenerationConfig = generation };
        try
        {
            var targets = model.state_dict();
            var plan = Plan(shards, targets, config);
            using var noGrad = no_grad();
            foreach (var (file, names) in plan)
            {
                Dictionary<string, Tensor> loaded;
                try
                {
                    loaded = Safetensors.LoadStateDict(file, names);
                }
                catch (Exception e) when (e is not OutOfMemoryException)
                {
                    throw new InvalidDataException($"Weights file '{file}' could not be read: {e.Message}", e);
                }
                foreach (var (name, tensor) in loaded)
                {
                    targets[name].copy_(tensor);
                    tensor.Dispose();
                }
            }
            return model;
        }
        catch
        {
            model.Dispose();
            throw;
        }
    }

    /// <summary>
    /// Writes <paramref name="model"/> to <paramref name="folder"/> as save_pretrained does: one model.safetensors,
    /// or shards of at most <paramref name="maxShardBytes"/> plus an index. Weight files of an earlier save in the
    /// folder are removed first so the loader cannot mix them up.
    /// </summary>
    public static void Save(CausalLM model, string folder, long maxShardBytes = DefaultMaxShardBytes)
    {
        if (maxShardBytes <= 0) throw new ArgumentOutOfRangeException(nameof(maxShardBytes), maxShardBytes, "The shard size must be positive.");
        Directory.CreateDirectory(folder);
        foreach (var stale in Directory.EnumerateFiles(folder, "model*.safetensors*"))
            File.Delete(stale);

        var dtypeName = model.Dtype switch
        {
            ScalarType.BFloat16 => "bfloat16",
            ScalarType.Float16 => "float16",
            _ => "float32",
        };
        File.WriteAllText(Path.Combine(folder, ConfigFileName), (model.Config with { TorchDtype = dtypeName }).ToJson());
        var generation = model.GenerationConfig.EosTokenIds.Count > 0 || model.GenerationConfig.Source is not null
            ? model.GenerationConfig
            : new GenerationConfig { EosTokenIds = model.Config.EosTokenIds, BosTokenId = model.Config.BosTokenId };
        File.WriteAllText(Path.Combine(folder, GenerationConfig.FileName), generation.ToJson());

        var tensors = model.state_dict().Select(kv => (kv.Key, kv.Value)).ToList();
        var shards = new List<List<(string Name, Tensor Tensor)>> { new() };
        long shardBytes = 0, totalBytes = 0;
        foreach (var (name, tensor) in tensors)
        {
            long bytes = tensor.numel() * tensor.ElementSize;
            if (shardBytes > 0 && shardBytes + bytes > maxShardBytes)
            {
                shards.Add([]);
                shardBytes = 0;
            }
            shards[^1].Add((name, tensor));
            shardBytes += bytes;
            totalBytes += bytes;
        }

        if (shards.Count == 1)
        {
            SafetensorsFile.Write(Path.Combine(folder, WeightsFileName), shards[0]);
            return;
        }
        var weightMap = new JsonObject();
        for (int i = 0; i < shards.Count; i++)
        {
            var file = $"model-{i + 1:D5}-of-{shards.Count:D5}.safetensors";
            SafetensorsFile.Write(Path.Combine(folder, file), shards[i]);
            foreach (var (name, _) in shards[i]) weightMap[name] = file;
        }
        var index = new JsonObject { ["metadata"] = new JsonObject { ["total_size"] = totalBytes }, ["weight_map"] = weightMap };
        File.WriteAllText(Path.Combine(folder, IndexFileName), index.ToJsonString(new JsonSerializerOptions { WriteIndented = true }));
    }

    /// <summary>The weight files of a folder: the shards its index names, or the single model.safetensors.</summary>
    private static List<(string File, IReadOnlyDictionary<string, string>? IndexedNames)> WeightFiles(string folder)
    {
        var indexPath = Path.Combine(folder, IndexFileName);
        if (File.Exists(indexPath))
        {
            var index = ConfigJson.ReadObject(indexPath);
            if (index["weight_map"] is not JsonObject weightMap || weightMap.Count == 0)
                throw new InvalidDataException($"'{indexPath}' has no 'weight_map' object mapping tensor names to shard files.");
            var byFile = new Dictionary<string, Dictionary<string, string>>();
            foreach (var (name, node) in weightMap)
            {
                var file = node is JsonValue v && v.TryGetValue(out string? f) && !f.Contains('/') && !f.Contains('\\') ? f
                    : throw new InvalidDataException($"'{indexPath}': weight_map entry '{name}' must be a file name in the same folder, got {node?.ToJsonString()}.");
                if (!byFile.TryGetValue(file, out var names)) byFile[file] = names = [];
                names[name] = file;
            }
            return byFile.Select(kv => (Path.Combine(folder, kv.Key), (IReadOnlyDictionary<string, string>?)kv.Value)).ToList();
        }
        var single = Path.Combine(folder, WeightsFileName);
        if (File.Exists(single)) return [(single, null)];
        var found = string.Join(", ", Directory.EnumerateFiles(folder).Select(Path.GetFileName).Order().Take(12));
        throw new FileNotFoundException(
            $"Model folder '{folder}' has neither {WeightsFileName} nor {IndexFileName} (found: {found}). " +
            "Only safetensors checkpoints load; re-save with save_pretrained(safe_serialization=True).", single);
    }

    /// <summary>
    /// Matches the tensors in the shard headers to the model's state dict: every parameter present exactly once
    /// with the config's shape, nothing unknown. Returns per file the names to read.
    /// </summary>
    private static List<(string File, List<string> Names)> Plan(
        List<(string File, IReadOnlyDictionary<string, string>? IndexedNames)> shards,
        Dictionary<string, Tensor> targets, ModelConfig config)
    {
        var plan = new List<(string, List<string>)>();
        var foundIn = new Dictionary<string, string>();
        foreach (var (file, indexed) in shards)
        {
            var header = SafetensorsFile.ReadHeader(file);
            if (indexed is not null)
            {
                var absent = indexed.Keys.Where(n => !header.ContainsKey(n)).ToList();
                if (absent.Count > 0)
                    throw new InvalidDataException($"Weights file '{file}' lacks {absent.Count} tensor(s) that {IndexFileName} places in it, e.g. '{absent[0]}'.");
            }
            var names = new List<string>();
            foreach (var (name, entry) in header)
            {
                // transformers ignores these too: rotary buffers of old checkpoints, and a duplicate head when tied.
                if (name.EndsWith("rotary_emb.inv_freq", StringComparison.Ordinal)) continue;
                if (name == "lm_head.weight" && config.TieWordEmbeddings) continue;
                if (!targets.TryGetValue(name, out var target))
                    throw new InvalidDataException(
                        $"Weights file '{file}' has tensor '{name}', which a {config.ModelType} model with this config.json has no place for " +
                        $"({config.NumHiddenLayers} layers, q/k/v bias {config.QkvBias}, q/k norm {config.QkNorm}, tied embeddings {config.TieWordEmbeddings}). Check that config.json belongs to these weights.");
                if (!entry.Shape.SequenceEqual(target.shape))
                    throw new InvalidDataException(
                        $"Weights file '{file}': tensor '{name}' has shape [{string.Join(", ", entry.Shape)}] but config.json implies [{string.Join(", ", target.shape)}].");
                if (foundIn.TryGetValue(name, out var other))
                    throw new InvalidDataException($"Tensor '{name}' appears in both '{other}' and '{file}'.");
                foundIn[name] = file;
                names.Add(name);
            }
            plan.Add((file, names));
        }
        var missing = targets.Keys.Where(n => !foundIn.ContainsKey(n)).ToList();
        if (missing.Count > 0)
            throw new InvalidDataException(
                $"The checkpoint lacks {missing.Count} tensor(s) that its config.json requires, e.g. {string.Join(", ", missing.Take(3).Select(n => $"'{n}'"))}. Check that config.json belongs to these weights.");
        return plan;
    }
}
