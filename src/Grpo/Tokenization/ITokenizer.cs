namespace Grpo.Tokenization;

/// <summary>
/// Text to token ids and back. HfTokenizer reads a Hugging Face <c>tokenizer.json</c>; implement this
/// to bring a tokenizer of your own (the sample's built-in model could use a character-level one).
/// </summary>
public interface ITokenizer
{
    /// <summary>Number of ids the tokenizer can produce (base vocabulary plus added tokens); must not exceed the model's embedding rows.</summary>
    int VocabSize { get; }

    /// <summary>
    /// Encodes text. Special and added tokens written in the text (<c>&lt;|im_start|&gt;</c>) become their single ids,
    /// so a chat-formatted prompt encodes as the model saw it in training. No BOS/EOS is added implicitly.
    /// </summary>
    int[] Encode(string text);

    /// <summary>Decodes ids to text; special tokens are left out when <paramref name="skipSpecialTokens"/> is true.</summary>
    string Decode(IEnumerable<int> ids, bool skipSpecialTokens = true);

    /// <summary>The id of a token given by its exact string (<c>"&lt;|im_end|&gt;"</c>), or null when the vocabulary has no such token.</summary>
    int? TokenToId(string token);
}
