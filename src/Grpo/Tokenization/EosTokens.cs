using System.Text.Json;

namespace Grpo.Tokenization;

/// <summary>
/// The ids that end a completion: <c>generation_config.json</c>'s <c>eos_token_id</c> (one id or a list; Qwen3 lists
/// both <c>&lt;|im_end|&gt;</c> and <c>&lt;|endoftext|&gt;</c>) together with <c>tokenizer_config.json</c>'s <c>eos_token</c>.
/// </summary>
public static class EosTokens
{
    /// <summary>The file with the model's generation defaults, in a model folder.</summary>
    public const string GenerationConfigFileName = "generation_config.json";

    /// <summary>
    /// Reads the EOS ids from a model folder; either file may be missing, but not both, and a file that is there must
    /// be valid. <see cref="InvalidDataException"/> naming the file otherwise.
    /// </summary>
    public static IReadOnlySet<int> FromDirectory(string directory, ITokenizer tokenizer)
    {
        var ids = new SortedSet<int>();
        var generationConfig = Path.Combine(directory, GenerationConfigFileName);
        if (File.Exists(generationConfig))
            ids.UnionWith(ReadGenerationConfig(generationConfig));

        var tokenizerConfig = Path.Combine(directory, TokenizerConfig.FileName);
        if (File.Exists(tokenizerConfig) && TokenizerConfig.FromFile(tokenizerConfig).EosToken is { } eosToken)
            ids.Add(tokenizer.TokenToId(eosToken)
                ?? throw new InvalidDataException($"Tokenizer config '{tokenizerConfig}' names eos_token '{eosToken}', which is not a token of the tokenizer."));

        if (ids.Count == 0)
            throw new InvalidDataException(
                $"Found no end-of-sequence token in '{directory}': add eos_token_id to {GenerationConfigFileName} or eos_token to {TokenizerConfig.FileName}, so generation knows where a completion ends.");
        return ids;
    }

    static IEnumerable<int> ReadGenerationConfig(string path)
    {
        try
        {
            using var document = JsonDocument.Parse(File.ReadAllBytes(path));
            if (!document.RootElement.TryGetProperty("eos_token_id", out var eos) || eos.ValueKind == JsonValueKind.Null)
                return [];
            return eos.ValueKind == JsonValueKind.Array ? eos.EnumerateArray().Select(e => e.GetInt32()).ToList() : [eos.GetInt32()];
        }
        catch (Exception e) when (e is JsonException or InvalidOperationException or FormatException)
        {
            throw new InvalidDataException($"Generation config '{path}' is not valid: eos_token_id must be an integer or a list of integers ({e.Message}).", e);
        }
    }
}
