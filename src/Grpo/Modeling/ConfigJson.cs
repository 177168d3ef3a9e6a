using System.Text.Json;
using System.Text.Json.Nodes;

namespace Grpo.Modeling;

/// <summary>
/// Typed reads of fields from a Hugging Face JSON file (config.json, generation_config.json), so every bad value
/// is reported with the file and the field it came from rather than as a bare cast exception.
/// </summary>
internal static class ConfigJson
{
    /// <summary>Reads and parses a JSON object file; a missing or malformed file gets an error naming it.</summary>
    public static JsonObject ReadObject(string path)
    {
        if (!File.Exists(path))
            throw new FileNotFoundException($"'{path}' was not found. A Hugging Face checkpoint folder needs it (save_pretrained writes it).", path);
        try
        {
            return JsonNode.Parse(File.ReadAllText(path)) as JsonObject
                ?? throw new InvalidDataException($"'{path}' must contain a JSON object.");
        }
        catch (JsonException e)
        {
            throw new InvalidDataException($"'{path}' is not valid JSON: {e.Message}", e);
        }
    }

    public static string? String(JsonObject obj, string field, string source) => obj[field] switch
    {
        null => null,
        JsonValue v when v.TryGetValue(out string? s) => s,
        var other => throw Bad(source, field, "a string", other),
    };

    public static int? Int(JsonObject obj, string field, string source) => obj[field] switch
    {
        null => null,
        JsonValue v when v.TryGetValue(out int i) => i,
        JsonValue v when v.TryGetValue(out double d) && d == Math.Floor(d) && Math.Abs(d) <= int.MaxValue => (int)d,
        var other => throw Bad(source, field, "an integer", other),
    };

    public static double? Double(JsonObject obj, string field, string source) => obj[field] switch
    {
        null => null,
        JsonValue v when v.TryGetValue(out double d) => d,
        var other => throw Bad(source, field, "a number", other),
    };

    public static bool? Bool(JsonObject obj, string field, string source) => obj[field] switch
    {
        null => null,
        JsonValue v when v.TryGetValue(out bool b) => b,
        var other => throw Bad(source, field, "true or false", other),
    };

    /// <summary>A token id field that Hugging Face allows as one integer or a list of integers (eos_token_id).</summary>
    public static int[] IntOrList(JsonObject obj, string field, string source) => obj[field] switch
    {
        null => [],
        JsonArray a => a.Select((n, i) => n is JsonValue v && v.TryGetValue(out int id) ? id : throw Bad(source, $"{field}[{i}]", "an integer", n)).ToArray(),
        _ => [Int(obj, field, source)!.Value],
    };

    public static int RequiredPositiveInt(JsonObject obj, string field, string source) =>
        Int(obj, field, source) switch
        {
            null => throw new InvalidDataException($"{source}: required field '{field}' is missing."),
            <= 0 and var v => throw new InvalidDataException($"{source}: field '{field}' must be a positive integer, got {v}."),
            var v => v.Value,
        };

    private static InvalidDataException Bad(string source, string field, string expected, JsonNode? got) =>
        new($"{source}: field '{field}' must be {expected}, got {got?.ToJsonString() ?? "null"}.");
}
