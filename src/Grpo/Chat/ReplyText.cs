using Grpo.Tools;

namespace Grpo.Chat;

/// <summary>
/// The text of a reply as it is generated, and how much of it can be shown yet. A reply ends at the first stop
/// sequence (left out of the reply, as OpenAI's API does); a tail that could still become one is held back. When
/// tools are offered, the model may write a tool call, which is not content: text that could be the start of one is
/// held back too, and at the end <see cref="Finish"/> parses the calls and gives the rest of the content. What
/// <see cref="Add"/> releases is always a prefix of the content <see cref="Finish"/> settles on, so a streamed reply
/// reads the same as a whole one.
/// </summary>
/// <param name="stopSequences">Texts that end the reply.</param>
/// <param name="parser">The chat format's tool-call parser when tools are offered; null when they are not.</param>
internal sealed class ReplyText(IReadOnlyList<string> stopSequences, ToolCallParser? parser)
{
    const string QwenCallOpen = "<tool_call>";
    const string LlamaPythonTag = "<|python_tag|>";

    string _text = "";
    int _released;

    /// <summary>Whether a stop sequence has ended the reply; further text is ignored.</summary>
    public bool Stopped { get; private set; }

    /// <summary>Adds decoded text; returns the content that can be shown now (often empty).</summary>
    public string Add(string decoded)
    {
        if (Stopped || decoded.Length == 0)
            return "";
        int searchFrom = _text.Length;
        _text += decoded;
        int stop = -1;
        foreach (var sequence in stopSequences)
        {
            int at = _text.IndexOf(sequence, Math.Max(0, searchFrom - sequence.Length + 1), StringComparison.Ordinal);
            if (at >= 0 && (stop < 0 || at < stop))
                stop = at;
        }
        if (stop >= 0)
        {
            _text = _text[..stop];
            Stopped = true;
            return "";
        }
        var settled = _text[..(_text.Length - HeldByStopSequences())];
        int shown = ContentSoFar(settled);
        if (shown <= _released)
            return "";
        var release = _text[_released..shown];
        _released = shown;
        return release;
    }

    /// <summary>The content not released yet and, when tools are offered, the calls the reply made.</summary>
    public (string Remaining, ParsedToolCalls? Parsed) Finish()
    {
        var parsed = parser?.Parse(_text);
        var content = parsed?.Content ?? _text;
        if (!content.StartsWith(_text[.._released], StringComparison.Ordinal))
            throw new InvalidOperationException($"Released text '{_text[.._released]}' is not a prefix of the reply's content '{content}'; the tool-call parser's content rule is not the one streaming assumed.");
        return (content[_released..], parsed);
    }

    // The longest tail of the text that is the start of a stop sequence.
    int HeldByStopSequences()
    {
        int held = 0;
        foreach (var sequence in stopSequences)
            held = Math.Max(held, LongestTailStarting(_text, sequence));
        return held;
    }

    /// <summary>How many leading characters of <paramref name="text"/> are surely content, whatever follows.</summary>
    int ContentSoFar(string text)
    {
        if (parser is null)
            return text.Length;
        if (ReferenceEquals(parser, ToolCallParser.Qwen))
        {
            // Content is the text before the first call, less the whitespace that separates it from the call.
            if (text.Contains(QwenCallOpen, StringComparison.Ordinal))
                return _released;
            return text[..(text.Length - LongestTailStarting(text, QwenCallOpen))].TrimEnd().Length;
        }
        if (ReferenceEquals(parser, ToolCallParser.Llama3))
        {
            // A reply is a call when it starts with '{' (after whitespace and an optional python tag); any other reply is all content.
            var start = text.TrimStart();
            if (start.Length == 0 || start[0] == '{' || start.StartsWith(LlamaPythonTag, StringComparison.Ordinal) || LlamaPythonTag.StartsWith(start, StringComparison.Ordinal))
                return 0;
            return text.Length;
        }
        // A parser this class does not know: the content is only known once the reply is complete.
        return 0;
    }

    // Length of the longest proper prefix of `pattern` that `text` ends with.
    static int LongestTailStarting(string text, string pattern)
    {
        for (int length = Math.Min(pattern.Length - 1, text.Length); length > 0; length--)
            if (text.AsSpan(text.Length - length).SequenceEqual(pattern.AsSpan(0, length)))
                return length;
        return 0;
    }
}
