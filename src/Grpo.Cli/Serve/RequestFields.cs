using System.Text.Json;

namespace Grpo.Cli.Serve;

/// <summary>
/// The fields of a request's JSON object, read with the checks pydantic gives vLLM: a field of the wrong type or out
/// of range is a 400 naming the field (its <c>param</c>), JSON null reads as absent, and fields this server does not
/// know are ignored, as vLLM ignores them.
/// </summary>
sealed class RequestFields
{
    readonly JsonElement _root;

    RequestFields(JsonElement root) => _root = root;

    /// <summary>Reads <paramref name="body"/>, which must hold one JSON object.</summary>
    public static async Task<(RequestFields Fields, JsonDocument Document)> ReadAsync(Stream body, CancellationToken cancellationToken)
    {
        JsonDocument document;
        try
        {
            document = await JsonDocument.ParseAsync(body, default, cancellationToken);
        }
        catch (JsonException e)
        {
            throw OpenAiError.BadRequest($"The request body is not valid JSON ({e.Message.Split('\n')[0].Trim()}); send one JSON object.");
        }
        if (document.RootElement.ValueKind != JsonValueKind.Object)
        {
            document.Dispose();
            throw OpenAiError.BadRequest("The request body must be a JSON object.");
        }
        return (new RequestFields(document.RootElement), document);
    }

    /// <summary>The field's value, or null when it is missing or JSON null.</summary>
    public JsonElement? Get(string name) =>
        _root.TryGetProperty(name, out var value) && value.ValueKind != JsonValueKind.Null ? value : null;

    public string? String(string name) => Get(name) switch
    {
        null => null,
        { ValueKind: JsonValueKind.String } value => value.GetString(),
        _ => throw OpenAiError.BadRequest($"`{name}` must be a string.", name),
    };

    public bool? Bool(string name) => Get(name) switch
    {
        null => null,
        { ValueKind: JsonValueKind.True } => true,
        { ValueKind: JsonValueKind.False } => false,
        _ => throw OpenAiError.BadRequest($"`{name}` must be true or false.", name),
    };

    public long? Long(string name) => Get(name) switch
    {
        null => null,
        { ValueKind: JsonValueKind.Number } value when value.TryGetInt64(out var n) => n,
        _ => throw OpenAiError.BadRequest($"`{name}` must be a whole number.", name),
    };

    /// <summary>A whole number that must lie in [<paramref name="min"/>, <paramref name="max"/>].</summary>
    public int? Int(string name, int min, int max = int.MaxValue, string? rule = null) => Long(name) switch
    {
        null => null,
        var n when n >= min && n <= max => (int)n,
        var n => throw OpenAiError.BadRequest($"`{name}` is {n}; {rule ?? (max == int.MaxValue ? $"it must be at least {min}" : $"it must lie in [{min}, {max}]")}.", name),
    };

    public double? Double(string name) => Get(name) switch
    {
        null => null,
        { ValueKind: JsonValueKind.Number } value => value.GetDouble(),
        _ => throw OpenAiError.BadRequest($"`{name}` must be a number.", name),
    };

    /// <summary>A string or a list of strings (OpenAI's <c>stop</c>), as a list; empty when absent.</summary>
    public IReadOnlyList<string> Strings(string name)
    {
        var value = Get(name);
        if (value is null) return [];
        if (value.Value.ValueKind == JsonValueKind.String) return [value.Value.GetString()!];
        if (value.Value.ValueKind == JsonValueKind.Array && value.Value.EnumerateArray().All(e => e.ValueKind == JsonValueKind.String))
            return value.Value.EnumerateArray().Select(e => e.GetString()!).ToList();
        throw OpenAiError.BadRequest($"`{name}` must be a string or a list of strings.", name);
    }

    /// <summary>A list of whole numbers (token ids); empty when absent.</summary>
    public IReadOnlyList<int> Ints(string name)
    {
        var value = Get(name);
        if (value is null) return [];
        if (value.Value.ValueKind == JsonValueKind.Array && value.Value.EnumerateArray().All(e => e.ValueKind == JsonValueKind.Number && e.TryGetInt32(out _)))
            return value.Value.EnumerateArray().Select(e => e.GetInt32()).ToList();
        throw OpenAiError.BadRequest($"`{name}` must be a list of whole numbers.", name);
    }
}
