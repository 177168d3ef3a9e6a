using System.Text;
using Grpo.Tokenization;

namespace Grpo.Tests.Chat;

/// <summary>
/// Test tokenizer: ids 0-255 are UTF-8 bytes, id 256 is the special token "&lt;|im_end|&gt;", and ids from 257 are
/// whole pieces of text, matched longest first when encoding (as a BPE merge makes one token of a frequent string).
/// A piece can span the end of a tool result and the next generation prompt, so the prompt's last token tells a
/// bigram model which turn it is in.
/// </summary>
internal sealed class PieceTokenizer : ITokenizer
{
    public const int ImEnd = 256;
    const string ImEndText = "<|im_end|>";
    readonly string[] _pieces;

    public PieceTokenizer(params string[] pieces) => _pieces = pieces;

    public int VocabSize => 257 + _pieces.Length;

    /// <summary>The id of a piece given to the constructor.</summary>
    public int Id(string piece) => TokenToId(piece) ?? throw new ArgumentException($"'{piece}' is not a piece.");

    public int[] Encode(string text)
    {
        var ids = new List<int>();
        for (int at = 0; at < text.Length;)
        {
            // The longest piece (or <|im_end|>) that starts here; else the character's bytes.
            var (id, length) = (-1, 0);
            if (text.AsSpan(at).StartsWith(ImEndText, StringComparison.Ordinal))
                (id, length) = (ImEnd, ImEndText.Length);
            for (int p = 0; p < _pieces.Length; p++)
                if (_pieces[p].Length > length && text.AsSpan(at).StartsWith(_pieces[p], StringComparison.Ordinal))
                    (id, length) = (257 + p, _pieces[p].Length);
            if (id < 0)
            {
                length = char.IsHighSurrogate(text[at]) ? 2 : 1;
                ids.AddRange(Encoding.UTF8.GetBytes(text.Substring(at, length)).Select(b => (int)b));
            }
            else
                ids.Add(id);
            at += length;
        }
        return [.. ids];
    }

    public string Decode(IEnumerable<int> ids, bool skipSpecialTokens = true)
    {
        var text = new StringBuilder();
        var bytes = new List<byte>();
        foreach (var id in ids)
        {
            if (id < 256)
            {
                bytes.Add((byte)id);
                continue;
            }
            text.Append(Encoding.UTF8.GetString([.. bytes]));
            bytes.Clear();
            if (id > ImEnd)
                text.Append(_pieces[id - 257]);
            else if (!skipSpecialTokens)
                text.Append(ImEndText);
        }
        return text.Append(Encoding.UTF8.GetString([.. bytes])).ToString();
    }

    public int? TokenToId(string token)
    {
        if (token == ImEndText)
            return ImEnd;
        int piece = Array.IndexOf(_pieces, token);
        return piece >= 0 ? 257 + piece : null;
    }
}
