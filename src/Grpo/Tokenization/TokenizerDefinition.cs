using System.Text;

namespace Grpo.Tokenization;

/// <summary>
/// Everything a byte-level BPE tokenizer is made of, in the terms of a Hugging Face <c>tokenizer.json</c>:
/// what <see cref="HfTokenizer"/> is built from, what it reads from the file and what it writes back.
/// Build one in memory for a small test tokenizer (see <see cref="CreateByteLevel"/>).
/// </summary>
/// <param name="Vocabulary">BPE tokens, spelled in GPT-2's byte-to-character alphabet (a space is <c>Ġ</c>), to their ids.</param>
/// <param name="Merges">The merge rules in priority order, each a pair of vocabulary tokens whose concatenation is also one.</param>
/// <param name="AddedTokens">Tokens matched whole in the raw text before BPE (special and control tokens).</param>
/// <param name="Normalization">The Unicode normal form text is put in before splitting, or null for none.</param>
/// <param name="SplitPatterns">
/// Pre-tokenizer regexes, applied one after another: each cuts every piece of the previous step into its matches and
/// the text between them (Hugging Face's <c>Split</c> with behaviour <c>Isolated</c>). BPE never merges across pieces.
/// </param>
/// <param name="IgnoreMerges">When true a piece that is itself a vocabulary token becomes that token without merging (Llama 3).</param>
public sealed record TokenizerDefinition(
    IReadOnlyDictionary<string, int> Vocabulary,
    IReadOnlyList<(string Left, string Right)> Merges,
    IReadOnlyList<AddedToken> AddedTokens,
    NormalizationForm? Normalization,
    IReadOnlyList<string> SplitPatterns,
    bool IgnoreMerges = false)
{
    /// <summary>The pre-tokenizer regex of Qwen2, Qwen2.5 and Qwen3: contractions, letter runs, single digits, punctuation runs, whitespace.</summary>
    public const string QwenSplitPattern =
        @"(?i:'s|'t|'re|'ve|'m|'ll|'d)|[^\r\n\p{L}\p{N}]?\p{L}+|\p{N}| ?[^\s\p{L}\p{N}]+[\r\n]*|\s*[\r\n]+|\s+(?!\S)|\s+";

    /// <summary>
    /// A small byte-level tokenizer for tests and toy models: the 256 byte tokens (ids 0-255, in byte order), then one
    /// token per merge (ids from 256, in merge order), then <paramref name="specialTokens"/>; Qwen's split regex and NFC.
    /// It can encode any text, because every byte is a token.
    /// </summary>
    /// <param name="specialTokens">Control tokens such as <c>&lt;|im_start|&gt;</c>, matched whole and skipped when decoding without special tokens.</param>
    /// <param name="merges">Merge rules written as plain text (<c>(" ", "t")</c>); each pair's parts must already be tokens.</param>
    public static TokenizerDefinition CreateByteLevel(IEnumerable<string> specialTokens, IEnumerable<(string Left, string Right)>? merges = null)
    {
        var vocabulary = new Dictionary<string, int>();
        foreach (var c in Tokenization.ByteLevel.ByteToChar)
            vocabulary.Add(c.ToString(), vocabulary.Count);

        var mergeList = new List<(string, string)>();
        foreach (var (left, right) in merges ?? [])
        {
            var pair = (Tokenization.ByteLevel.Encode(left), Tokenization.ByteLevel.Encode(right));
            if (!vocabulary.ContainsKey(pair.Item1) || !vocabulary.ContainsKey(pair.Item2))
                throw new ArgumentException($"Merge (\"{left}\", \"{right}\") uses a part that no earlier merge produced; list merges so each part exists first.", nameof(merges));
            mergeList.Add(pair);
            vocabulary.TryAdd(pair.Item1 + pair.Item2, vocabulary.Count);
        }

        var added = specialTokens.Select((content, i) => new AddedToken(vocabulary.Count + i, content, Special: true)).ToList();
        return new TokenizerDefinition(vocabulary, mergeList, added, NormalizationForm.FormC, [QwenSplitPattern]);
    }
}
