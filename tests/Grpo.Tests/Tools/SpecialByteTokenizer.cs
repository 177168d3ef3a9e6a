using System.Text;
using Grpo.Tokenization;

namespace Grpo.Tests.Tools;

/// <summary>Test tokenizer for chat formats: each UTF-8 byte is its own id (0-255), and the format's special tokens follow from 256.</summary>
internal sealed class SpecialByteTokenizer(params string[] specials) : ITokenizer
{
    /// <summary>ChatML: <c>&lt;|im_end|&gt;</c> (the end of a turn) is 256, <c>&lt;|im_start|&gt;</c> 257.</summary>
    public static readonly SpecialByteTokenizer ChatMl = new("<|im_end|>", "<|im_start|>");
    public const int ImEnd = 256;

    string[] Specials => specials;

    public int VocabSize => 256 + specials.Length;

    public int[] Encode(string text)
    {
        var ids = new List<int>();
        int at = 0;
        while (at < text.Length)
        {
            var (index, special) = Specials.Select((s, i) => (Index: text.IndexOf(s, at, StringComparison.Ordinal), Special: i))
                .Where(f => f.Index >= 0).DefaultIfEmpty((text.Length, -1)).MinBy(f => f.Item1);
            ids.AddRange(Encoding.UTF8.GetBytes(text[at..index]).Select(b => (int)b));
            if (special < 0) break;
            ids.Add(256 + special);
            at = index + Specials[special].Length;
        }
        return [.. ids];
    }

    public string Decode(IEnumerable<int> ids, bool skipSpecialTokens = true)
    {
        var text = new StringBuilder();
        var bytes = new List<byte>();
        foreach (var id in ids)
        {
            if (id < 256) { bytes.Add((byte)id); continue; }
            text.Append(Encoding.UTF8.GetString([.. bytes]));
            bytes.Clear();
            if (!skipSpecialTokens) text.Append(Specials[id - 256]);
        }
        return text.Append(Encoding.UTF8.GetString([.. bytes])).ToString();
    }

    public int? TokenToId(string token) => Array.IndexOf(Specials, token) is var i and >= 0 ? 256 + i : null;
}
