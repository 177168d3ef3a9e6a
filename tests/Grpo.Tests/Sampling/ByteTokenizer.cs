using System.Text;
using Grpo.Tokenization;

namespace Grpo.Tests.Sampling;

/// <summary>Test tokenizer: each UTF-8 byte is its own id (0-255), id 256 is the special token "&lt;eos&gt;".</summary>
internal sealed class ByteTokenizer : ITokenizer
{
    public const int Eos = 256;

    public int VocabSize => 257;

    public int[] Encode(string text) => Encoding.UTF8.GetBytes(text).Select(b => (int)b).ToArray();

    public string Decode(IEnumerable<int> ids, bool skipSpecialTokens = true)
    {
        var text = new StringBuilder();
        var bytes = new List<byte>();
        foreach (var id in ids)
        {
            if (id < 256) { bytes.Add((byte)id); continue; }
            text.Append(Encoding.UTF8.GetString(bytes.ToArray()));
            bytes.Clear();
            if (!skipSpecialTokens) text.Append("<eos>");
        }
        return text.Append(Encoding.UTF8.GetString(bytes.ToArray())).ToString();
    }

    public int? TokenToId(string token) => token == "<eos>" ? Eos : null;
}
