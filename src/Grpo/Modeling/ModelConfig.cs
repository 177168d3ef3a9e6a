using System.Text.Json;
using System.Text.Json.Nodes;
using TorchSharp;

namespace Grpo.Modeling;

/// <summary>
/// The architecture of a decoder-only model, as Hugging Face's <c>config.json</c> describes it. Qwen2, Qwen3 and
/// Llama differ only by flags derived here (q/k/v bias, q/k norm, RoPE scaling, tied head), so one
/// <see cref="CausalLM"/> serves all three. Defaults are those of transformers' Qwen2Config, Qwen3Config and LlamaConfig.
/// </summary>
public sealed record ModelConfig
{
    /// <summary>The <c>model_type</c> values this implementation runs.</summary>
    public static readonly IReadOnlyList<string> SupportedModelTypes = ["qwen2", "qwen3", "llama"];

    /// <summary><c>model_type</c>: qwen2, qwen3 or llama.</summary>
    public required string ModelType { get; init; }

    /// <summary><c>vocab_size</c>: rows of the embedding and of the LM head.</summary>
    public required int VocabSize { get; init; }

    /// <summary><c>hidden_size</c>: width of the residual stream.</summary>
    public required int HiddenSize { get; init; }

    /// <summary><c>intermediate_size</c>: width of the SwiGLU MLP.</summary>
    public required int IntermediateSize { get; init; }

    /// <summary><c>num_hidden_layers</c>.</summary>
    public required int NumHiddenLayers { get; init; }

    /// <summary><c>num_attention_heads</c>: query heads.</summary>
    public required int NumAttentionHeads { get; init; }

    /// <summary><c>num_key_value_heads</c>: key/value heads for grouped-query attention; defaults to <see cref="NumAttentionHeads"/>.</summary>
    public int NumKeyValueHeads { get => field > 0 ? field : NumAttentionHeads; init; }

    /// <summary><c>head_dim</c>: width of one head; defaults to hidden_size / num_attention_heads (Qwen3 sets it explicitly).</summary>
    public int HeadDim { get => field > 0 ? field : HiddenSize / NumAttentionHeads; init; }

    /// <summary><c>rms_norm_eps</c>; default 1e-6.</summary>
    public double RmsNormEps { get; init; } = 1e-6;

    /// <summary><c>rope_theta</c>: RoPE base; default 10000.</summary>
    public double RopeTheta { get; init; } = 10000;

    /// <summary><c>rope_scaling</c>; null means plain RoPE.</summary>
    public RopeScaling? RopeScaling { get; init; }

    /// <summary><c>max_position_embeddings</c>: the context the model is configured for; default 32768 (Qwen2/Qwen3).</summary>
    public int MaxPositionEmbeddings { get; init; } = 32768;

    /// <summary><c>tie_word_embeddings</c>: the LM head reuses the embedding matrix; default false.</summary>
    public bool TieWordEmbeddings { get; init; }

    /// <summary><c>attention_bias</c> (Qwen3, Llama): bias on q, k, v and o projections; default false. Qwen2 ignores it.</summary>
    public bool AttentionBias { get; init; }

    /// <summary><c>mlp_bias</c> (Llama): bias on the MLP projections; default false.</summary>
    public bool MlpBias { get; init; }

    /// <summary><c>torch_dtype</c> (or v5 <c>dtype</c>): the dtype the weights were saved in; default float32.</summary>
    public string TorchDtype { get; init; } = "float32";

    /// <summary><c>bos_token_id</c>, when the config has one.</summary>
    public int? BosTokenId { get; init; }

    /// <summary><c>eos_token_id</c>: one id or several (Llama 3.1 lists three).</summary>
    public IReadOnlyList<int> EosTokenIds { get; init; } = [];

    /// <summary>The config.json this was read from, kept so that saving writes back fields this class does not model.</summary>
    internal JsonObject? Source { get; init; }

    /// <summary>q, k and v projections carry a bias: always in Qwen2, per <c>attention_bias</c> elsewhere.</summary>
    public bool QkvBias => ModelType == "qwen2" || AttentionBias;

    /// <summary>The o projection carries a bias: per <c>attention_bias</c>, never in Qwen2.</summary>
    public bool OutputBias => ModelType != "qwen2" && AttentionBias;

    /// <summary>RMSNorm on each query and key head before RoPE (Qwen3).</summary>
    public bool QkNorm => ModelType == "qwen3";

    /// <summary>The TorchSharp dtype named by <see cref="TorchDtype"/>.</summary>
    public torch.ScalarType WeightsDtype => ParseDtype(TorchDtype, "config");

    /// <summary>Reads and validates a config.json; errors name the file and the field.</summary>
    public static ModelConfig Load(string path)
    {
        var source = $"'{path}'";
        return FromJson(ConfigJson.ReadObject(path), source);
    }

    /// <summary>Builds a config from a parsed config.json object; <paramref name="source"/> names it in errors.</summary>
    public static ModelConfig FromJson(JsonObject obj, string source)
    {
        var modelType = ConfigJson.String(obj, "model_type", source)
            ?? throw new InvalidDataException($"{source}: required field 'model_type' is missing.");
        if (!SupportedModelTypes.Contains(modelType))
            throw new NotSupportedException(
                $"{source}: model_type '{modelType}' is not supported; supported model types are {string.Join(", ", SupportedModelTypes)}.");
        if (ConfigJson.Bool(obj, "use_sliding_window", source) == true)
            throw new NotSupportedException($"{source}: 'use_sliding_window' is true; sliding-window attention is not implemented. Set it to false.");

        var maxPositions = ConfigJson.Int(obj, "max_position_embeddings", source) ?? (modelType == "llama" ? 2048 : 32768);
        // transformers v5 moves rope_theta and the scaling into one rope_parameters object.
        var ropeParameters = obj["rope_parameters"] as JsonObject;
        var ropeScaling = (obj["rope_scaling"] as JsonObject) ?? ropeParameters;
        if (obj["rope_scaling"] is { } rs && rs is not JsonObject)
            throw new InvalidDataException($"{source}: field 'rope_scaling' must be an object or null, got {rs.ToJsonString()}.");

        int hiddenSize = ConfigJson.RequiredPositiveInt(obj, "hidden_size", source);
        int heads = ConfigJson.RequiredPositiveInt(obj, "num_attention_heads", source);
        var config = new ModelConfig
        {
            ModelType = modelType,
            VocabSize = ConfigJson.RequiredPositiveInt(obj, "vocab_size", source),
            HiddenSize = hiddenSize,
            IntermediateSize = ConfigJson.RequiredPositiveInt(obj, "intermediate_size", source),
            NumHiddenLayers = ConfigJson.RequiredPositiveInt(obj, "num_hidden_layers", source),
            NumAttentionHeads = heads,
            NumKeyValueHeads = ConfigJson.Int(obj, "num_key_value_heads", source) ?? heads,
            HeadDim = ConfigJson.Int(obj, "head_dim", source) ?? hiddenSize / heads,
            RmsNormEps = ConfigJson.Double(obj, "rms_norm_eps", source) ?? 1e-6,
            RopeTheta = ConfigJson.Double(obj, "rope_theta", source)
                ?? (ropeParameters is null ? null : ConfigJson.Double(ropeParameters, "rope_theta", source)) ?? 10000,
            RopeScaling = RopeScaling.FromJson(ropeScaling, source, maxPositions),
            MaxPositionEmbeddings = maxPositions,
            TieWordEmbeddings = ConfigJson.Bool(obj, "tie_word_embeddings", source) ?? false,
            AttentionBias = ConfigJson.Bool(obj, "attention_bias", source) ?? false,
            MlpBias = ConfigJson.Bool(obj, "mlp_bias", source) ?? false,
            TorchDtype = ConfigJson.String(obj, "torch_dtype", source) ?? ConfigJson.String(obj, "dtype", source) ?? "float32",
            BosTokenId = ConfigJson.Int(obj, "bos_token_id", source),
            EosTokenIds = ConfigJson.IntOrList(obj, "eos_token_id", source),
            Source = obj,
        };
        config.Validate(source);
        return config;
    }

    /// <summary>Checks the numbers fit together; <paramref name="source"/> names the config in the error.</summary>
    public void Validate(string source = "model config")
    {
        if (!SupportedModelTypes.Contains(ModelType))
            throw new NotSupportedException($"{source}: model_type '{ModelType}' is not supported; supported model types are {string.Join(", ", SupportedModelTypes)}.");
        foreach (var (field, value) in new[]
                 {
                     ("vocab_size", VocabSize), ("hidden_size", HiddenSize), ("intermediate_size", IntermediateSize),
                     ("num_hidden_layers", NumHiddenLayers), ("num_attention_heads", NumAttentionHeads),
                     ("num_key_value_heads", NumKeyValueHeads), ("head_dim", HeadDim), ("max_position_embeddings", MaxPositionEmbeddings),
                 })
        {
            if (value <= 0) throw new InvalidDataException($"{source}: field '{field}' must be a positive integer, got {value}.");
        }
        if (NumAttentionHeads % NumKeyValueHeads != 0)
            throw new InvalidDataException(
                $"{source}: 'num_attention_heads' ({NumAttentionHeads}) must be a multiple of 'num_key_value_heads' ({NumKeyValueHeads}) for grouped-query attention.");
        if (HeadDim % 2 != 0)
            throw new InvalidDataException($"{source}: 'head_dim' ({HeadDim}) must be even for rotary embeddings.");
        if (!(RmsNormEps > 0))
            throw new InvalidDataException($"{source}: 'rms_norm_eps' must be positive, got {RmsNormEps}.");
        if (!(RopeTheta > 1))
            throw new InvalidDataException($"{source}: 'rope_theta' must be greater than 1, got {RopeTheta}.");
        _ = ParseDtype(TorchDtype, source);
        foreach (var id in EosTokenIds.Concat(BosTokenId is { } b ? [b] : []))
            if (id < 0 || id >= VocabSize)
                throw new InvalidDataException($"{source}: special token id {id} is outside the vocabulary (vocab_size {VocabSize}).");
    }

    /// <summary>The config.json text Hugging Face reads back; fields of the loaded file that this class does not model are kept.</summary>
    public string ToJson()
    {
        var obj = Source?.DeepClone().AsObject() ?? new JsonObject();
        obj["architectures"] ??= new JsonArray(ModelType switch
        {
            "qwen2" => "Qwen2ForCausalLM",
            "qwen3" => "Qwen3ForCausalLM",
            _ => "LlamaForCausalLM",
        });
        obj["model_type"] = ModelType;
        obj["vocab_size"] = VocabSize;
        obj["hidden_size"] = HiddenSize;
        obj["intermediate_size"] = IntermediateSize;
        obj["num_hidden_layers"] = NumHiddenLayers;
        obj["num_attention_heads"] = NumAttentionHeads;
        obj["num_key_value_heads"] = NumKeyValueHeads;
        obj["head_dim"] = HeadDim;
        obj["hidden_act"] = "silu";
        obj["rms_norm_eps"] = RmsNormEps;
        obj["rope_theta"] = RopeTheta;
        obj["rope_scaling"] = RopeScaling?.ToJson();
        obj.Remove("rope_parameters");
        obj["max_position_embeddings"] = MaxPositionEmbeddings;
        obj["tie_word_embeddings"] = TieWordEmbeddings;
        if (ModelType != "qwen2") obj["attention_bias"] = AttentionBias;
        if (ModelType == "llama") obj["mlp_bias"] = MlpBias;
        obj["torch_dtype"] = TorchDtype;
        if (BosTokenId is { } bos) obj["bos_token_id"] = bos;
        if (EosTokenIds.Count > 0)
            obj["eos_token_id"] = EosTokenIds.Count == 1 ? EosTokenIds[0] : new JsonArray(EosTokenIds.Select(id => (JsonNode)id).ToArray());
        return obj.ToJsonString(new JsonSerializerOptions { WriteIndented = true });
    }

    /// <summary>
    /// A tiny configuration (about 260 thousand parameters at the defaults) for tests and samples: the flags of the
    /// given family, two layers, grouped-query attention with 4 query and 2 key/value heads.
    /// </summary>
    public static ModelConfig Tiny(string modelType = "qwen3", int vocabSize = 320) => new()
    {
        ModelType = modelType,
        VocabSize = vocabSize,
        HiddenSize = 96,
        IntermediateSize = 256,
        NumHiddenLayers = 2,
        NumAttentionHeads = 4,
        NumKeyValueHeads = 2,
        HeadDim = 24,
        MaxPositionEmbeddings = 2048,
        RopeScaling = modelType == "llama"
            ? new RopeScaling { Type = "llama3", Factor = 8, LowFreqFactor = 1, HighFreqFactor = 4, OriginalMaxPositionEmbeddings = 256 }
            : null,
    };

    internal static torch.ScalarType ParseDtype(string name, string source) => name switch
    {
        "float32" => torch.ScalarType.Float32,
        "bfloat16" => torch.ScalarType.BFloat16,
        "float16" => torch.ScalarType.Float16,
        _ => throw new InvalidDataException($"{source}: 'torch_dtype' '{name}' is not supported; use float32, bfloat16 or float16."),
    };
}
