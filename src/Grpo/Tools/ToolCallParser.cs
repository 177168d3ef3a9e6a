using System.Text.Json;
using Microsoft.Extensions.AI;

namespace Grpo.Tools;

/// <summary>
/// Reads the tool calls a model wrote in its family's format (<see cref="Qwen"/>, <see cref="Llama3"/>), as vLLM's
/// tool parsers do for a server: complete calls become <see cref="FunctionCallContent"/>s with their arguments as
/// <see cref="JsonElement"/>s, a call cut off by the length limit is reported as unclosed, and malformed JSON is
/// recorded on its call. Model output is untrusted, so <see cref="Parse"/> never throws on it.
/// </summary>
public abstract class ToolCallParser
{
    /// <summary>
    /// Qwen2.5's and Qwen3's format (Hermes' format, vLLM's <c>hermes</c> parser): each call is
    /// <c>&lt;tool_call&gt;{"name": ..., "arguments": {...}}&lt;/tool_call&gt;</c>, and the content is the text
    /// before the first call, without the whitespace that separates it from the call.
    /// </summary>
    public static ToolCallParser Qwen { get; } = new QwenToolCallParser();

    /// <summary>
    /// Llama 3.1's JSON format (vLLM's <c>llama3_json</c> parser): the reply is the call,
    /// <c>{"name": ..., "parameters": {...}}</c>, optionally after <c>&lt;|python_tag|&gt;</c>, with further calls
    /// after <c>;</c> as Llama 3.2 and 3.3 write them. A reply that starts with <c>{</c> is read as a call; any other
    /// is content only. The content is the text after the calls.
    /// </summary>
    public static ToolCallParser Llama3 { get; } = new Llama3ToolCallParser();

    /// <summary>The completion's content, its complete tool calls, and where an unclosed call starts.</summary>
    public abstract ParsedToolCalls Parse(string completion);

    /// <summary>
    /// The call that <paramref name="json"/> spells, <c>{"name": ..., argumentsKey: {...}}</c>, with id
    /// <c>call_INDEX</c>; an absent arguments member means no arguments. Anything else gives a call carrying an
    /// <see cref="InvalidDataException"/> that says what the model should have written.
    /// </summary>
    protected static FunctionCallContent ReadCall(string json, int index, string argumentsKey)
    {
        var callId = $"call_{index}";
        var shape = $"{{\"name\": ..., \"{argumentsKey}\": {{...}}}}";
        var name = "";
        try
        {
            using var document = JsonDocument.Parse(json);
            var root = document.RootElement;
            if (root.ValueKind != JsonValueKind.Object)
                return Failed(callId, name, $"Tool call {index + 1} is a JSON {root.ValueKind.ToString().ToLowerInvariant()}, not an object like {shape}.");
            if (!root.TryGetProperty("name", out var nameElement) || nameElement.ValueKind != JsonValueKind.String)
                return Failed(callId, name, $"Tool call {index + 1} has no \"name\" string; a call is {shape}.");
            name = nameElement.GetString()!;
            var arguments = new Dictionary<string, object?>();
            if (root.TryGetProperty(argumentsKey, out var argumentsElement))
            {
                if (argumentsElement.ValueKind != JsonValueKind.Object)
                    return Failed(callId, name,
                        $"Tool call {index + 1} ('{name}') has \"{argumentsKey}\" as a JSON {argumentsElement.ValueKind.ToString().ToLowerInvariant()}; it must be an object of argument names and values.");
                // A repeated name keeps its last value, as Python's json.loads does.
                foreach (var argument in argumentsElement.EnumerateObject())
                {
                    DecodeStrings(argument.Value);
                    arguments[argument.Name] = argument.Value.Clone();
                }
            }
            return new FunctionCallContent(callId, name, arguments);
        }
        // JsonException: malformed JSON; the others: text that is not valid UTF-16 (a lone surrogate).
        catch (Exception e) when (e is JsonException or ArgumentException or InvalidOperationException)
        {
            return Failed(callId, name, $"Tool call {index + 1} is not valid JSON ({e.Message}); a call is {shape}.");
        }
    }

    // Decodes every string once, so that an escaped lone surrogate ("\ud800") is this call's error rather than an
    // exception wherever the argument is read later.
    static void DecodeStrings(JsonElement value)
    {
        switch (value.ValueKind)
        {
            case JsonValueKind.String:
                value.GetString();
                break;
            case JsonValueKind.Array:
                foreach (var item in value.EnumerateArray())
                    DecodeStrings(item);
                break;
            case JsonValueKind.Object:
                foreach (var member in value.EnumerateObject())
                {
                    _ = member.Name;
                    DecodeStrings(member.Value);
                }
                break;
        }
    }

    static FunctionCallContent Failed(string callId, string name, string message) =>
        new(callId, name) { Exception = new InvalidDataException(message) };
}
