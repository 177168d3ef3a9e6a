using Microsoft.Extensions.AI;

namespace Grpo.Tools;

/// <summary>Qwen's <c>&lt;tool_call&gt;{...}&lt;/tool_call&gt;</c> calls; see <see cref="ToolCallParser.Qwen"/>.</summary>
internal sealed class QwenToolCallParser : ToolCallParser
{
    const string Open = "<tool_call>";
    const string Close = "</tool_call>";

    public override ParsedToolCalls Parse(string completion)
    {
        var calls = new List<FunctionCallContent>();
        var open = completion.IndexOf(Open, StringComparison.Ordinal);
        var content = open < 0 ? completion : completion[..open].TrimEnd();
        // A closing tag inside a JSON string is part of an argument. Once a call's string never closes, later calls
        // are cut at the plain closing tag instead, so that no part of the text is scanned twice.
        var skipStrings = true;
        while (open >= 0)
        {
            var body = open + Open.Length;
            var close = skipStrings ? JsonScanner.TagOutsideStrings(completion, body, Close) : -1;
            if (close < 0)
            {
                skipStrings = false;
                close = completion.IndexOf(Close, body, StringComparison.Ordinal);
            }
            if (close < 0)
                return new ParsedToolCalls(content, calls, open);
            calls.Add(ReadCall(completion[body..close], calls.Count, "arguments"));
            open = completion.IndexOf(Open, close + Close.Length, StringComparison.Ordinal);
        }
        return new ParsedToolCalls(content, calls, null);
    }
}
