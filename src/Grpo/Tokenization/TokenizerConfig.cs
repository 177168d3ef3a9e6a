using System.Text.Encodings.Web;
using System.Text.Json;

namespace Grpo.Tokenization;

/// <summary>
/// The parts of Hugging Face's <c>tokenizer_config.json</c> that prompting needs: the chat template and the
/// names of the special tokens.
/// </summary>
/// <param name="Path">The file it was read from (or will be written to), for error messages.</param>
/// <param name="ChatTemplate">The Jinja chat template, or null when the file has none.</param>
/// <param name="BosToken">The beginning-of-sequence token's text, or null.</param>
/// <param name="EosToken">The token that ends an assistant turn (<c>&lt;|im_end|&gt;</c> for Qwen), or null.</param>
/// <param name="PadToken">The padding token's text, or null.</param>
public sealed record TokenizerConfig(string Path, string? ChatTemplate, string? BosToken, string? EosToken, string? PadToken)
{
    /// <summary>The file's name in a model folder.</summary>
    public const string FileName = "tokenizer_config.json";

    /// <summary>Reads <c>tokenizer_config.json</c> from a model folder.</summary>
    public static TokenizerConfig FromDirectory(string directory) => FromFile(System.IO.Path.Combine(directory, FileName));

    /// <summary>Reads the file; <see cref="FileNotFoundException"/> or <see cref="InvalidDataException"/> naming it when it cannot.</summary>
    public static TokenizerConfig FromFile(string path)
    {
        if (!File.Exists(path))
            throw new FileNotFoundException(
                $"Tokenizer config '{path}' does not exist. A Hugging Face model folder has tokenizer_config.json beside tokenizer.json; copy it there.", path);
        try
        {
            using var document = JsonDocument.Parse(File.ReadAllBytes(path));
            var root = document.RootElement;
            if (root.ValueKind != JsonValueKind.Object)
                throw new InvalidDataException($"Tokenizer config '{path}' is not a JSON object.");
            return new TokenizerConfig(path, ReadTemplate(root), TokenText(root, "bos_token"), TokenText(root, "eos_token"), TokenText(root, "pad_token"));
        }
        catch (Exception e) when (e is JsonException or InvalidOperationException)
        {
            throw new InvalidDataException($"Tokenizer config '{path}' is not valid ({e.Message}); replace it with an intact copy.", e);
        }
    }

    // chat_template is a string, or a list of {name, template} of which "default" is the one chat uses.
    static string? ReadTemplate(JsonElement root)
    {
        if (!root.TryGetProperty("chat_template", out var template))
            return null;
        if (template.ValueKind == JsonValueKind.Array)
            return template.EnumerateArray()
                .Where(t => t.GetProperty("name").GetString() == "default")
                .Select(t => t.GetProperty("template").GetString())
                .FirstOrDefault();
        return template.ValueKind == JsonValueKind.String ? template.GetString() : null;
    }

    // Older files write special tokens as {"content": "...", ...} objects instead of strings.
    static string? TokenText(JsonElement root, string name) =>
        !root.TryGetProperty(name, out var token) ? null
        : token.ValueKind == JsonValueKind.String ? token.GetString()
        : token.ValueKind == JsonValueKind.Object && token.TryGetProperty("content", out var content) ? content.GetString()
        : null;

    /// <summary>Writes the config to <see cref="Path"/> in the form Hugging Face's transformers loads.</summary>
    public void Save()
    {
        using var stream = File.Create(Path);
        using var json = new Utf8JsonWriter(stream, new JsonWriterOptions { Indented = true, Encoder = JavaScriptEncoder.UnsafeRelaxedJsonEscaping });
        json.WriteStartObject();
        json.WriteString("tokenizer_class", "PreTrainedTokenizerFast");
        json.WriteBoolean("clean_up_tokenization_spaces", false);
        json.WriteString("chat_template", ChatTemplate);
        json.WriteString("bos_token", BosToken);
        json.WriteString("eos_token", EosToken);
        json.WriteString("pad_token", PadToken);
        json.WriteEndObject();
    }
}
