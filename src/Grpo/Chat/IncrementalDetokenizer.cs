using Grpo.Tokenization;

namespace Grpo.Chat;

/// <summary>
/// Turns generated token ids into text one token at a time, never splitting a character: a byte-level token can end
/// in the middle of a multi-byte UTF-8 character, which decodes to U+FFFD until the token that completes it arrives,
/// so text that ends in U+FFFD is held back until the next token. This is vLLM's incremental detokenization: each
/// step decodes only a window from the start of the previous piece of text (the prefix offset), which keeps the cost
/// per token constant and gives decoders that depend on the preceding token (a leading space) their context.
/// </summary>
internal sealed class IncrementalDetokenizer(ITokenizer tokenizer)
{
    readonly List<int> _ids = [];
    int _prefixOffset, _readOffset;

    /// <summary>Adds one token; returns the text it completes (empty while a character is still incomplete).</summary>
    public string Add(int id)
    {
        _ids.Add(id);
        var (prefix, full) = Window();
        if (full.Length <= prefix.Length || full.EndsWith('\uFFFD'))
            return "";
        _prefixOffset = _readOffset;
        _readOffset = _ids.Count;
        return full[prefix.Length..];
    }

    /// <summary>The text still held back (an incomplete or invalid character at the end), when no more tokens will come.</summary>
    public string Flush()
    {
        var (prefix, full) = Window();
        _prefixOffset = _readOffset = _ids.Count;
        return full.Length > prefix.Length ? full[prefix.Length..] : "";
    }

    (string Prefix, string Full) Window() =>
        (tokenizer.Decode(_ids.Skip(_prefixOffset).Take(_readOffset - _prefixOffset), skipSpecialTokens: true),
         tokenizer.Decode(_ids.Skip(_prefixOffset), skipSpecialTokens: true));
}
