namespace Grpo.Tools;

/// <summary>
/// Finds where JSON text ends inside a completion without parsing it: brackets and tags inside string literals
/// (<c>"a } or &lt;/tool_call&gt;"</c>) do not count. One forward pass, so a huge completion costs linear time.
/// </summary>
internal static class JsonScanner
{
    /// <summary>The index just past the object or array that opens at <paramref name="start"/>, or -1 when it never closes.</summary>
    public static int ValueEnd(string text, int start)
    {
        var depth = 0;
        bool Closes(char c)
        {
            if (c is '{' or '[') depth++;
            else if (c is '}' or ']') return --depth == 0;
            return false;
        }
        var close = FirstOutsideStrings(text, start, i => Closes(text[i]));
        return close < 0 ? -1 : close + 1;
    }

    /// <summary>
    /// The index of the first <paramref name="tag"/> at or after <paramref name="start"/> that is not inside a JSON
    /// string literal, or -1 when there is none (no such tag, or a string that never closes hides it).
    /// </summary>
    public static int TagOutsideStrings(string text, int start, string tag) =>
        FirstOutsideStrings(text, start, i => text[i] == tag[0] && text.AsSpan(i).StartsWith(tag, StringComparison.Ordinal));

    /// <summary>
    /// The first index at or after <paramref name="start"/> outside string literals (escapes honoured) where
    /// <paramref name="found"/> holds, or -1. <paramref name="found"/> sees every such index once, in order.
    /// </summary>
    private static int FirstOutsideStrings(string text, int start, Func<int, bool> found)
    {
        var inString = false;
        for (var i = start; i < text.Length; i++)
        {
            var c = text[i];
            if (inString)
            {
                if (c == '\\')
                    i++;
                else if (c == '"')
                    inString = false;
            }
            else if (c == '"')
                inString = true;
            else if (found(i))
                return i;
        }
        return -1;
    }
}
