using System.Text;
using Microsoft.Extensions.AI;

namespace Grpo.Tokenization;

/// <summary>
/// A tool as chat templates receive it: <c>{"type": "function", "function": {"name", "description", "parameters"}}</c>,
/// the shape transformers' <c>get_json_schema</c> gives a Python function (and TRL passes for its <c>tools</c>), with
/// the function's JSON schema as the parameters.
/// </summary>
internal static class ToolSchema
{
    /// <summary>Appends the tool as the template's <c>tojson</c> writes it; no description when the tool has none.</summary>
    public static void Write(StringBuilder text, AIFunctionDeclaration tool, int? indent)
    {
        var function = new List<KeyValuePair<string, object?>> { new("name", tool.Name) };
        if (!string.IsNullOrEmpty(tool.Description))
            function.Add(new("description", tool.Description));
        function.Add(new("parameters", tool.JsonSchema));
        PythonJson.Write(text, new KeyValuePair<string, object?>[] { new("type", "function"), new("function", function) }, indent);
    }
}
