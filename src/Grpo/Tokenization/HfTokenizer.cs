using System.Text;
using Microsoft.ML.Tokenizers;

namespace Grpo.Tokenization;

/// <summary>
/// A Hugging Face byte-level BPE tokenizer (<c>tokenizer.json</c>) that gives the same ids as the model saw in
/// training. Encoding runs Hugging Face's pipeline: added tokens are matched out of the raw text first, the rest is
/// put in the file's Unicode normal form, cut into pieces by the pre-tokenizer regexes, and each piece's UTF-8 bytes
/// are merged by BPE (Microsoft.ML.Tokenizers' <see cref="BpeTokenizer"/> does the merging). The tokenizer is
/// immutable and safe to share between threads.
/// </summary>
public sealed class HfTokenizer : ITokenizer
{
    const string TokenizerFileName = "tokenizer.json";

    readonly BpeTokenizer _bpe;
    readonly AddedTokenMatcher _addedTokens;
    readonly SplitPreTokenizer _splitter;
    readonly Dictionary<int, AddedToken> _addedById;
    readonly Dictionary<string, int> _addedByContent;
    readonly string?[] _vocabularyById;

    /// <summary>What the tokenizer was built from; <see cref="Save"/> writes it back.</summary>
    public TokenizerDefinition Definition { get; }

    /// <inheritdoc />
    public int VocabSize { get; }

    /// <summary>Builds a tokenizer from a definition made in memory (see <see cref="TokenizerDefinition.CreateByteLevel"/>).</summary>
    public HfTokenizer(TokenizerDefinition definition) : this(definition, "The tokenizer definition") { }

    HfTokenizer(TokenizerDefinition definition, string source)
    {
        Validate(definition, source);
        Definition = definition;
        _splitter = new SplitPreTokenizer(definition.SplitPatterns, (pattern, e) =>
            new InvalidDataException($"{source} has split regex '{pattern}', which .NET cannot compile ({e.Message}).", e));
        _addedTokens = new AddedTokenMatcher(definition.AddedTokens);
        _addedById = definition.AddedTokens.ToDictionary(t => t.Id);
        _addedByContent = definition.AddedTokens.ToDictionary(t => t.Content, t => t.Id);

        VocabSize = Math.Max(
            definition.Vocabulary.Count == 0 ? 0 : definition.Vocabulary.Values.Max() + 1,
            definition.AddedTokens.Count == 0 ? 0 : definition.AddedTokens.Max(t => t.Id) + 1);
        _vocabularyById = new string?[VocabSize];
        foreach (var (token, id) in definition.Vocabulary)
            _vocabularyById[id] = token;

        _bpe = BpeTokenizer.Create(new BpeOptions(definition.Vocabulary)
        {
            Merges = definition.Merges.Select(m => m.Left + " " + m.Right),
            ByteLevel = true,
        });
    }

    static void Validate(TokenizerDefinition definition, string source)
    {
        foreach (var id in definition.Vocabulary.Values.Concat(definition.AddedTokens.Select(t => t.Id)).Where(id => id < 0).Take(1))
            throw new InvalidDataException($"{source} gives a token the negative id {id}; ids start at 0.");
        IEnumerable<AddedToken>? clash = definition.AddedTokens.GroupBy(t => t.Id).FirstOrDefault(g => g.Count() > 1);
        clash ??= definition.AddedTokens.GroupBy(t => t.Content).FirstOrDefault(g => g.Count() > 1);
        if (clash is not null)
            throw new InvalidDataException(
                $"{source} has added tokens that share an id or a text: {string.Join(", ", clash.Select(t => $"{t.Id} '{t.Content}'"))}.");
    }

    /// <summary>Loads <c>tokenizer.json</c> from a model folder.</summary>
    public static HfTokenizer FromDirectory(string directory)
    {
        if (!Directory.Exists(directory))
            throw new DirectoryNotFoundException($"Model folder '{directory}' does not exist; pass the folder that holds tokenizer.json.");
        return FromFile(Path.Combine(directory, TokenizerFileName));
    }

    /// <summary>Loads a <c>tokenizer.json</c> file; errors name the file and the setting it cannot honour.</summary>
    public static HfTokenizer FromFile(string path) => new(TokenizerJson.Read(path), $"Tokenizer file '{path}'");

    /// <summary>Writes the tokenizer as a <c>tokenizer.json</c> that this class and Hugging Face's tokenizers both load.</summary>
    public void Save(string path) => TokenizerJson.Write(Definition, path);

    /// <inheritdoc />
    public int[] Encode(string text)
    {
        ArgumentNullException.ThrowIfNull(text);
        var ids = new List<int>();
        var segments = new List<(int Start, int Length, AddedToken? Token)>();
        var pieces = new List<(int Start, int Length)>();
        _addedTokens.Split(text, segments);
        foreach (var (start, length, token) in segments)
        {
            if (token is not null)
            {
                ids.Add(token.Id);
                continue;
            }
            var segment = Normalize(text.Substring(start, length));
            pieces.Clear();
            _splitter.Split(segment, pieces);
            foreach (var (pieceStart, pieceLength) in pieces)
                EncodePiece(segment.AsSpan(pieceStart, pieceLength), ids);
        }
        return [.. ids];
    }

    string Normalize(string segment)
    {
        if (Definition.Normalization is not { } form)
            return segment;
        // string.Normalize throws on a lone surrogate; it would become U+FFFD as UTF-8 anyway.
        if (segment.AsSpan().IndexOfAnyInRange('\uD800', '\uDFFF') >= 0)
            segment = Encoding.UTF8.GetString(Encoding.UTF8.GetBytes(segment));
        return segment.Normalize(form);
    }

    void EncodePiece(ReadOnlySpan<char> piece, List<int> ids)
    {
        if (Definition.IgnoreMerges && Definition.Vocabulary.TryGetValue(ByteLevel.Encode(piece), out var whole))
        {
            ids.Add(whole);
            return;
        }
        ids.AddRange(_bpe.EncodeToIds(piece, considerPreTokenization: false, considerNormalization: false));
    }

    /// <inheritdoc />
    /// <remarks>
    /// Invalid UTF-8 (a completion cut in the middle of a character) becomes U+FFFD. Ids with no token are left out,
    /// as Hugging Face's decode does: a model's embedding often has rows past the tokenizer's vocabulary.
    /// </remarks>
    public string Decode(IEnumerable<int> ids, bool skipSpecialTokens = true)
    {
        var bytes = new List<byte>();
        foreach (var id in ids)
        {
            if (_addedById.TryGetValue(id, out var added))
            {
                if (!(skipSpecialTokens && added.Special))
                    bytes.AddRange(Encoding.UTF8.GetBytes(added.Content));
            }
            else if ((uint)id < (uint)_vocabularyById.Length && _vocabularyById[id] is { } token)
                ByteLevel.AppendBytes(token, bytes);
        }
        return Encoding.UTF8.GetString(bytes.ToArray());
    }

    /// <inheritdoc />
    public int? TokenToId(string token) =>
        _addedByContent.TryGetValue(token, out var id) ? id
        : Definition.Vocabulary.TryGetValue(token, out id) ? id
        : null;
}
