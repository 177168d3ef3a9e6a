using System.Text;

namespace Grpo.Tokenization;

/// <summary>
/// GPT-2's reversible byte-to-character table, which byte-level BPE vocabularies are written in: printable bytes
/// stand for themselves and the other 68 (space, control characters, ...) are shifted to U+0100 and up, so that
/// a space is stored as <c>Ġ</c> and a newline as <c>Ċ</c>. Every token string in the vocabulary is a run of these.
/// </summary>
static class ByteLevel
{
    /// <summary>The character that stands for each byte value.</summary>
    public static readonly char[] ByteToChar = BuildTable();

    static readonly Dictionary<char, byte> CharToByte =
        Enumerable.Range(0, 256).ToDictionary(b => ByteToChar[b], b => (byte)b);

    static char[] BuildTable()
    {
        var table = new char[256];
        var shifted = 0;
        for (var b = 0; b < 256; b++)
        {
            var printable = b is >= '!' and <= '~' or >= 0xA1 and <= 0xAC or >= 0xAE and <= 0xFF;
            table[b] = printable ? (char)b : (char)(256 + shifted++);
        }
        return table;
    }

    /// <summary>Text as the vocabulary spells it: its UTF-8 bytes, each replaced by its character.</summary>
    public static string Encode(ReadOnlySpan<char> text)
    {
        var bytes = Encoding.UTF8.GetBytes(text.ToArray());
        var chars = new char[bytes.Length];
        for (var i = 0; i < bytes.Length; i++)
            chars[i] = ByteToChar[bytes[i]];
        return new string(chars);
    }

    /// <summary>
    /// Appends the bytes a vocabulary token stands for. A character outside the table (only in a hand-made vocabulary)
    /// stands for its own UTF-8 bytes.
    /// </summary>
    public static void AppendBytes(string token, List<byte> bytes)
    {
        foreach (var c in token)
        {
            if (CharToByte.TryGetValue(c, out var b))
                bytes.Add(b);
            else
                bytes.AddRange(Encoding.UTF8.GetBytes(c.ToString()));
        }
    }
}
