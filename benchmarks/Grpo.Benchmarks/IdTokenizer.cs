using Grpo.Tokenization;

namespace Grpo.Benchmarks;

/// <summary>Ids decode to themselves as numbers; the benchmarks need no real vocabulary.</summary>
internal sealed class IdTokenizer(int vocabSize) : ITokenizer
{
    public int VocabSize => vocabSize;
    public int[] Encode(string text) => text.Split(' ', StringSplitOptions.RemoveEmptyEntries).Select(int.Parse).ToArray();
    public string Decode(IEnumerable<int> ids, bool skipSpecialTokens = true) => string.Join(' ', ids);
    public int? TokenToId(string token) => int.TryParse(token, out var id) ? id : null;

    /// <summary>A fixed, spread-out prompt of <paramref name="length"/> ids.</summary>
    public int[] Prompt(int length) => Enumerable.Range(0, length).Select(i => (i * 37 + 11) % vocabSize).ToArray();
}
