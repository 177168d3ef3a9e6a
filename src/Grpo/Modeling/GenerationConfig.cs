using System.Text.Json;
using System.Text.Json.Nodes;

namespace Grpo.Modeling;

/// <summary>
/// The token ids of <c>generation_config.json</c> that sampling needs: which ids end a completion (one or a list;
/// Qwen2.5 instruct lists both &lt;|im_end|&gt; and &lt;|endoftext|&gt;), BOS and PAD.
/// </summary>
public sealed record GenerationConfig
{
    /// <summary>File name inside a checkpoint folder.</summary>
    public const string FileName = "generation_config.json";

    /// <summary><c>eos_token_id</c>: any of these ends a completion.</summary>
    public IReadOnlyList<int> EosTokenIds { get; init; } = [];

    /// <summary><c>bos_token_id</c>, when given.</summary>
    public int? BosTokenId { get; init; }

    /// <summary><c>pad_token_id</c>, when given.</summary>
    public int? PadTokenId { get; init; }

    /// <summary>The file as read, so saving keeps the fields this record does not model (sampling defaults, ...).</summary>
    internal JsonObject? Source { get; init; }

    /// <summary>Reads a generation_config.json; errors name the file and the field.</summary>
    public static GenerationConfig Load(string path)
    {
        var obj = ConfigJson.ReadObject(path);
        var source = $"'{path}'";
        return new GenerationConfig
        {
            EosTokenIds = ConfigJson.IntOrList(obj, "eos_token_id", source),
            BosTokenId = ConfigJson.Int(obj, "bos_token_id", source),
            PadTokenId = ConfigJson.Int(obj, "pad_token_id", source),
            Source = obj,
        };
    }

    /// <summary>The JSON text to save, keeping unmodelled fields of the loaded file.</summary>
    public string ToJson()
    {
        var obj = Source?.DeepClone().AsObject() ?? new JsonObject();
        if (EosTokenIds.Count > 0)
            obj["eos_token_id"] = EosTokenIds.Count == 1 ? EosTokenIds[0] : new JsonArray(EosTokenIds.Select(id => (JsonNode)id).ToArray());
        if (BosTokenId is { } bos) obj["bos_token_id"] = bos;
        if (PadTokenId is { } pad) obj["pad_token_id"] = pad;
        return obj.ToJsonString(new JsonSerializerOptions { WriteIndented = true });
    }
}
