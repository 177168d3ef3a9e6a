using System.Text;
using System.Text.Encodings.Web;
using System.Text.Json;
using System.Text.RegularExpressions;

namespace Grpo.Tokenization;

/// <summary>
/// Reads and writes Hugging Face's <c>tokenizer.json</c> for byte-level BPE tokenizers (Qwen2/2.5/3, Llama 3,
/// GPT-2, SmolLM2). Anything it cannot reproduce exactly (a SentencePiece normaliser, a Metaspace pre-tokenizer,
/// a Unigram model, BPE dropout) is refused with an error naming the file and the setting, rather than encoded
/// differently from the model's training.
/// </summary>
/// <remarks>
/// Ignored on purpose: <c>post_processor</c> (encoding adds no BOS/EOS; chat formats write them as text),
/// <c>truncation</c> and <c>padding</c> (the sampler batches), and an added token's <c>normalized</c> flag (all added
/// tokens are matched in the raw text, which differs only for a token whose own text normalisation would change).
/// </remarks>
static class TokenizerJson
{
    /// <summary>The pre-tokenizer regex of GPT-2, which a <c>ByteLevel</c> pre-tokenizer applies when <c>use_regex</c> is true.</summary>
    const string Gpt2SplitPattern = @"'s|'t|'re|'ve|'m|'ll|'d| ?\p{L}+| ?\p{N}+| ?[^\s\p{L}\p{N}]+|\s+(?!\S)|\s+";

    static readonly Dictionary<string, NormalizationForm> Forms = new()
    {
        ["NFC"] = NormalizationForm.FormC, ["NFD"] = NormalizationForm.FormD,
        ["NFKC"] = NormalizationForm.FormKC, ["NFKD"] = NormalizationForm.FormKD,
    };

    /// <summary>Parses the file; <see cref="FileNotFoundException"/> or <see cref="InvalidDataException"/> naming it when it cannot.</summary>
    public static TokenizerDefinition Read(string path)
    {
        if (!File.Exists(path))
            throw new FileNotFoundException(
                $"Tokenizer file '{path}' does not exist. A Hugging Face model folder has tokenizer.json beside config.json; copy it there.", path);
        JsonDocument document;
        try
        {
            using var stream = File.OpenRead(path);
            document = JsonDocument.Parse(stream);
        }
        catch (JsonException e)
        {
            throw new InvalidDataException($"Tokenizer file '{path}' is not valid JSON ({e.Message}); replace it with an intact copy.", e);
        }
        using (document)
        {
            try
            {
                return Parse(document.RootElement, path);
            }
            catch (Exception e) when (e is InvalidOperationException or KeyNotFoundException or FormatException)
            {
                // A field of the wrong JSON kind or a missing required field: the file is not a tokenizer.json.
                throw Bad(path, $"is not a Hugging Face tokenizer.json ({e.Message})");
            }
        }
    }

    static TokenizerDefinition Parse(JsonElement root, string path)
    {
        if (root.ValueKind != JsonValueKind.Object || !root.TryGetProperty("model", out var model))
            throw Bad(path, "has no \"model\" section, so it is not a Hugging Face tokenizer.json");

        var modelType = String(model, "type") ?? (model.TryGetProperty("merges", out _) ? "BPE" : "unknown");
        if (modelType != "BPE")
            throw Unsupported(path, $"model type '{modelType}'", "only byte-level BPE models are (Qwen, Llama 3, GPT-2 style)");
        if (Bool(model, "byte_fallback"))
            throw Unsupported(path, "model.byte_fallback = true", "byte_fallback belongs to SentencePiece-style BPE, which this reader does not handle");
        if (model.TryGetProperty("dropout", out var dropout) && dropout.ValueKind == JsonValueKind.Number && dropout.GetDouble() > 0)
            throw Unsupported(path, "model.dropout", "BPE dropout makes encoding random; remove it for inference");
        foreach (var affix in new[] { "continuing_subword_prefix", "end_of_word_suffix" })
            if (!string.IsNullOrEmpty(String(model, affix)))
                throw Unsupported(path, $"model.{affix} = '{String(model, affix)}'", "byte-level BPE vocabularies have no subword affixes");

        var vocabulary = new Dictionary<string, int>();
        foreach (var entry in Required(model, "vocab", JsonValueKind.Object, path).EnumerateObject())
            vocabulary[entry.Name] = entry.Value.GetInt32();

        var merges = new List<(string, string)>();
        foreach (var merge in Required(model, "merges", JsonValueKind.Array, path).EnumerateArray())
        {
            var pair = merge.ValueKind == JsonValueKind.Array
                ? (merge[0].GetString()!, merge[1].GetString()!)
                : SplitMerge(merge.GetString()!, path);
            if (!vocabulary.ContainsKey(pair.Item1) || !vocabulary.ContainsKey(pair.Item2) || !vocabulary.ContainsKey(pair.Item1 + pair.Item2))
                throw Bad(path, $"has merge {merges.Count} (\"{pair.Item1}\", \"{pair.Item2}\") whose parts or result are not in model.vocab");
            merges.Add(pair);
        }

        var added = new List<AddedToken>();
        if (root.TryGetProperty("added_tokens", out var addedTokens) && addedTokens.ValueKind == JsonValueKind.Array)
            foreach (var token in addedTokens.EnumerateArray())
                added.Add(new AddedToken(
                    token.GetProperty("id").GetInt32(), token.GetProperty("content").GetString()!, Bool(token, "special"),
                    Bool(token, "lstrip"), Bool(token, "rstrip"), Bool(token, "single_word")));

        var splitPatterns = new List<string>();
        if (!root.TryGetProperty("pre_tokenizer", out var preTokenizer) || !ReadPreTokenizer(preTokenizer, path, splitPatterns))
            throw Unsupported(path, "a pre_tokenizer without a ByteLevel step", "only byte-level BPE is handled; its pre_tokenizer includes {\"type\": \"ByteLevel\"}");

        if (root.TryGetProperty("decoder", out var decoder) && decoder.ValueKind != JsonValueKind.Null && String(decoder, "type") != "ByteLevel")
            throw Unsupported(path, $"decoder type '{String(decoder, "type")}'", "only the ByteLevel decoder is");

        var normalization = root.TryGetProperty("normalizer", out var normalizer) ? ReadNormalizer(normalizer, path) : null;
        return new TokenizerDefinition(vocabulary, merges, added, normalization,
            splitPatterns, Bool(model, "ignore_merges"));
    }

    static NormalizationForm? ReadNormalizer(JsonElement normalizer, string path)
    {
        if (normalizer.ValueKind == JsonValueKind.Null)
            return null;
        var type = String(normalizer, "type") ?? "";
        if (Forms.TryGetValue(type, out var form))
            return form;
        if (type == "Sequence")
        {
            var steps = normalizer.GetProperty("normalizers").EnumerateArray().Select(n => ReadNormalizer(n, path)).OfType<NormalizationForm>().ToList();
            if (steps.Count <= 1)
                return steps.Count == 0 ? null : steps[0];
        }
        throw Unsupported(path, $"normalizer '{normalizer.GetRawText()}'", "only NFC, NFD, NFKC, NFKD (alone or as a one-step Sequence) are");
    }

    /// <summary>Adds the split regexes of a pre-tokenizer (flattening Sequences); true when it had a ByteLevel step.</summary>
    static bool ReadPreTokenizer(JsonElement step, string path, List<string> patterns)
    {
        switch (String(step, "type") ?? "none")
        {
            case "Sequence":
                var byteLevel = false;
                foreach (var inner in step.GetProperty("pretokenizers").EnumerateArray())
                    byteLevel |= ReadPreTokenizer(inner, path, patterns);
                return byteLevel;
            case "Split":
                var behaviour = String(step, "behavior");
                if (behaviour != "Isolated" || Bool(step, "invert"))
                    throw Unsupported(path, $"Split pre-tokenizer with behavior '{behaviour}' and invert {Bool(step, "invert")}", "only behavior Isolated without invert is");
                var pattern = step.GetProperty("pattern");
                patterns.Add(pattern.TryGetProperty("Regex", out var regex) ? regex.GetString()! : Regex.Escape(pattern.GetProperty("String").GetString()!));
                return false;
            case "Digits":
                patterns.Add(Bool(step, "individual_digits") ? @"\p{N}" : @"\p{N}+");
                return false;
            case "ByteLevel":
                if (Bool(step, "add_prefix_space"))
                    throw Unsupported(path, "ByteLevel pre-tokenizer with add_prefix_space = true", "set it to false (Qwen and Llama 3 do)");
                if (!step.TryGetProperty("use_regex", out var useRegex) || useRegex.GetBoolean())
                    patterns.Add(Gpt2SplitPattern);
                return true;
            default:
                throw Unsupported(path, $"pre_tokenizer type '{String(step, "type")}'", "only Sequence, Split, Digits and ByteLevel are");
        }
    }

    static (string, string) SplitMerge(string merge, string path)
    {
        var space = merge.IndexOf(' ');
        if (space <= 0 || space != merge.LastIndexOf(' '))
            throw Bad(path, $"has merge \"{merge}\", which is not two tokens separated by one space");
        return (merge[..space], merge[(space + 1)..]);
    }

    /// <summary>Writes the definition as a tokenizer.json that this reader and Hugging Face's tokenizers both load.</summary>
    public static void Write(TokenizerDefinition definition, string path)
    {
        using var stream = File.Create(path);
        using var json = new Utf8JsonWriter(stream, new JsonWriterOptions { Indented = true, Encoder = JavaScriptEncoder.UnsafeRelaxedJsonEscaping });
        json.WriteStartObject();
        json.WriteString("version", "1.0");
        json.WriteNull("truncation");
        json.WriteNull("padding");

        json.WriteStartArray("added_tokens");
        foreach (var token in definition.AddedTokens)
        {
            json.WriteStartObject();
            json.WriteNumber("id", token.Id);
            json.WriteString("content", token.Content);
            json.WriteBoolean("single_word", token.SingleWord);
            json.WriteBoolean("lstrip", token.LStrip);
            json.WriteBoolean("rstrip", token.RStrip);
            json.WriteBoolean("normalized", false);
            json.WriteBoolean("special", token.Special);
            json.WriteEndObject();
        }
        json.WriteEndArray();

        if (definition.Normalization is { } form)
        {
            json.WriteStartObject("normalizer");
            json.WriteString("type", Forms.First(f => f.Value == form).Key);
            json.WriteEndObject();
        }
        else
            json.WriteNull("normalizer");

        json.WriteStartObject("pre_tokenizer");
        json.WriteString("type", "Sequence");
        json.WriteStartArray("pretokenizers");
        foreach (var pattern in definition.SplitPatterns)
        {
            json.WriteStartObject();
            json.WriteString("type", "Split");
            json.WriteStartObject("pattern");
            json.WriteString("Regex", pattern);
            json.WriteEndObject();
            json.WriteString("behavior", "Isolated");
            json.WriteBoolean("invert", false);
            json.WriteEndObject();
        }
        WriteByteLevel(json, null);
        json.WriteEndArray();
        json.WriteEndObject();
        WriteByteLevel(json, "post_processor");
        WriteByteLevel(json, "decoder");

        json.WriteStartObject("model");
        json.WriteString("type", "BPE");
        json.WriteNull("dropout");
        json.WriteNull("unk_token");
        json.WriteString("continuing_subword_prefix", "");
        json.WriteString("end_of_word_suffix", "");
        json.WriteBoolean("fuse_unk", false);
        json.WriteBoolean("byte_fallback", false);
        json.WriteBoolean("ignore_merges", definition.IgnoreMerges);
        json.WriteStartObject("vocab");
        foreach (var (token, id) in definition.Vocabulary.OrderBy(v => v.Value))
            json.WriteNumber(token, id);
        json.WriteEndObject();
        json.WriteStartArray("merges");
        foreach (var (left, right) in definition.Merges)
        {
            json.WriteStartArray();
            json.WriteStringValue(left);
            json.WriteStringValue(right);
            json.WriteEndArray();
        }
        json.WriteEndArray();
        json.WriteEndObject();

        json.WriteEndObject();
    }

    // The split regexes do the cutting, so the ByteLevel step only maps bytes (use_regex false).
    static void WriteByteLevel(Utf8JsonWriter json, string? name)
    {
        if (name is null)
            json.WriteStartObject();
        else
            json.WriteStartObject(name);
        json.WriteString("type", "ByteLevel");
        json.WriteBoolean("add_prefix_space", false);
        json.WriteBoolean("trim_offsets", false);
        json.WriteBoolean("use_regex", false);
        json.WriteEndObject();
    }

    static JsonElement Required(JsonElement model, string name, JsonValueKind kind, string path) =>
        model.TryGetProperty(name, out var value) && value.ValueKind == kind
            ? value
            : throw Bad(path, $"has no model.{name} {(kind == JsonValueKind.Object ? "object" : "array")}");

    static string? String(JsonElement element, string name) =>
        element.ValueKind == JsonValueKind.Object && element.TryGetProperty(name, out var value) && value.ValueKind == JsonValueKind.String
            ? value.GetString() : null;

    static bool Bool(JsonElement element, string name) =>
        element.TryGetProperty(name, out var value) && value.ValueKind == JsonValueKind.True;

    static InvalidDataException Bad(string path, string what) => new($"Tokenizer file '{path}' {what}.");

    static InvalidDataException Unsupported(string path, string setting, string why) =>
        new($"Tokenizer file '{path}' uses {setting}, which is not supported: {why}.");
}
