using Microsoft.Extensions.AI;

namespace Grpo.Tools;

/// <summary>Llama 3's JSON calls; see <see cref="ToolCallParser.Llama3"/>.</summary>
internal sealed class Llama3ToolCallParser : ToolCallParser
{
    const string PythonTag = "<|python_tag|>";

    public override ParsedToolCalls Parse(string completion)
    {
        var start = SkipWhitespace(completion, 0);
        if (completion.AsSpan(start).StartsWith(PythonTag, StringComparison.Ordinal))
            start = SkipWhitespace(completion, start + PythonTag.Length);
        if (start == completion.Length || completion[start] != '{')
            return new ParsedToolCalls(completion, [], null);

        var calls = new List<FunctionCallContent>();
        while (true)
        {
            var end = JsonScanner.ValueEnd(completion, start);
            if (end < 0)
                return new ParsedToolCalls("", calls, start);
            calls.Add(ReadCall(completion[start..end], calls.Count, "parameters"));
            var next = SkipWhitespace(completion, end);
            if (next < completion.Length && completion[next] == ';')
                next = SkipWhitespace(completion, next + 1);
            if (next == completion.Length || completion[next] != '{')
                return new ParsedToolCalls(completion[end..].Trim(), calls, null);
            start = next;
        }
    }

    static int SkipWhitespace(string text, int index)
    {
        while (index < text.Length && char.IsWhiteSpace(text[index]))
            index++;
        return index;
    }
}
