using System.Text.Json.Nodes;

namespace Grpo.Modeling;

/// <summary>
/// The <c>rope_scaling</c> block of a Hugging Face config: how rotary position frequencies are stretched so a model
/// works past the context length it was pre-trained on. Field names and defaults follow transformers'
/// <c>modeling_rope_utils</c>; <see cref="RotaryEmbedding.InverseFrequencies"/> turns them into frequencies.
/// </summary>
public sealed record RopeScaling
{
    /// <summary>Supported values of <c>rope_type</c> (older configs call it <c>type</c>).</summary>
    public static readonly IReadOnlyList<string> SupportedTypes = ["default", "linear", "dynamic", "yarn", "llama3"];

    /// <summary><c>rope_type</c>: default, linear, dynamic, yarn or llama3.</summary>
    public required string Type { get; init; }

    /// <summary><c>factor</c>: how many times longer the target context is. Required by every type but default.</summary>
    public double Factor { get; init; } = 1.0;

    /// <summary><c>original_max_position_embeddings</c>: the pre-training context (llama3: required; yarn: defaults to max_position_embeddings).</summary>
    public int? OriginalMaxPositionEmbeddings { get; init; }

    /// <summary><c>low_freq_factor</c> (llama3, required; Llama 3.1 uses 1).</summary>
    public double LowFreqFactor { get; init; } = 1.0;

    /// <summary><c>high_freq_factor</c> (llama3, required; Llama 3.1 uses 4).</summary>
    public double HighFreqFactor { get; init; } = 4.0;

    /// <summary><c>attention_factor</c> (yarn): cos/sin multiplier; when absent, 0.1 ln(factor) + 1 (YaRN paper).</summary>
    public double? AttentionFactor { get; init; }

    /// <summary><c>beta_fast</c> (yarn): rotations above which frequencies are kept; default 32 (YaRN paper).</summary>
    public double BetaFast { get; init; } = 32;

    /// <summary><c>beta_slow</c> (yarn): rotations below which frequencies are fully interpolated; default 1 (YaRN paper).</summary>
    public double BetaSlow { get; init; } = 1;

    /// <summary><c>mscale</c> (yarn, DeepSeek style): with <see cref="MscaleAllDim"/>, sets the attention factor as a ratio.</summary>
    public double? Mscale { get; init; }

    /// <summary><c>mscale_all_dim</c> (yarn, DeepSeek style).</summary>
    public double? MscaleAllDim { get; init; }

    /// <summary><c>truncate</c> (yarn): round the correction range to whole dimensions; default true as in transformers.</summary>
    public bool Truncate { get; init; } = true;

    /// <summary>
    /// Reads a <c>rope_scaling</c> (or transformers v5 <c>rope_parameters</c>) object; null when absent or of type default.
    /// A yarn block without <c>factor</c> gets max_position_embeddings / original_max_position_embeddings, as transformers v5 does.
    /// </summary>
    internal static RopeScaling? FromJson(JsonObject? obj, string source, int maxPositionEmbeddings)
    {
        if (obj is null) return null;
        var type = ConfigJson.String(obj, "rope_type", source) ?? ConfigJson.String(obj, "type", source) ?? "default";
        if (!SupportedTypes.Contains(type))
            throw new InvalidDataException(
                $"{source}: rope_scaling type '{type}' is not supported; supported types are {string.Join(", ", SupportedTypes)}.");
        if (type == "default") return null;

        double Required(string field) => ConfigJson.Double(obj, field, source)
            ?? throw new InvalidDataException($"{source}: rope_scaling of type '{type}' needs the field '{field}'.");

        double YarnFactorFromLengths() => ConfigJson.Int(obj, "original_max_position_embeddings", source) is > 0 and var original
            ? (double)maxPositionEmbeddings / original
            : throw new InvalidDataException($"{source}: rope_scaling of type 'yarn' needs 'factor' or 'original_max_position_embeddings'.");

        var scaling = new RopeScaling
        {
            Type = type,
            Factor = ConfigJson.Double(obj, "factor", source) ?? (type == "yarn" ? YarnFactorFromLengths() : Required("factor")),
            OriginalMaxPositionEmbeddings = ConfigJson.Int(obj, "original_max_position_embeddings", source),
            AttentionFactor = ConfigJson.Double(obj, "attention_factor", source),
            BetaFast = ConfigJson.Double(obj, "beta_fast", source) ?? 32,
            BetaSlow = ConfigJson.Double(obj, "beta_slow", source) ?? 1,
            Mscale = ConfigJson.Double(obj, "mscale", source),
            MscaleAllDim = ConfigJson.Double(obj, "mscale_all_dim", source),
            Truncate = ConfigJson.Bool(obj, "truncate", source) ?? true,
        };
        if (type == "llama3")
        {
            scaling = scaling with
            {
                LowFreqFactor = Required("low_freq_factor"),
                HighFreqFactor = Required("high_freq_factor"),
                OriginalMaxPositionEmbeddings = scaling.OriginalMaxPositionEmbeddings
                    ?? throw new InvalidDataException($"{source}: rope_scaling of type 'llama3' needs the field 'original_max_position_embeddings'."),
            };
            if (scaling.HighFreqFactor <= scaling.LowFreqFactor)
                throw new InvalidDataException($"{source}: rope_scaling 'high_freq_factor' ({scaling.HighFreqFactor}) must be greater than 'low_freq_factor' ({scaling.LowFreqFactor}).");
        }
        if (!(scaling.Factor > 0))
            throw new InvalidDataException($"{source}: rope_scaling 'factor' must be a positive number, got {scaling.Factor}.");
        return scaling;
    }

    /// <summary>The JSON object Hugging Face reads back (both <c>type</c> and <c>rope_type</c>, as transformers writes them).</summary>
    internal JsonObject ToJson()
    {
        var obj = new JsonObject { ["rope_type"] = Type, ["type"] = Type, ["factor"] = Factor };
        if (OriginalMaxPositionEmbeddings is { } original) obj["original_max_position_embeddings"] = original;
        switch (Type)
        {
            case "llama3":
                obj["low_freq_factor"] = LowFreqFactor;
                obj["high_freq_factor"] = HighFreqFactor;
                break;
            case "yarn":
                if (AttentionFactor is { } a) obj["attention_factor"] = a;
                obj["beta_fast"] = BetaFast;
                obj["beta_slow"] = BetaSlow;
                if (Mscale is { } m) obj["mscale"] = m;
                if (MscaleAllDim is { } mad) obj["mscale_all_dim"] = mad;
                if (!Truncate) obj["truncate"] = false;
                break;
        }
        return obj;
    }
}
