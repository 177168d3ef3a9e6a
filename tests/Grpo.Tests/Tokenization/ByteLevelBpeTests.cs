using System.Text;
using Grpo.Tokenization;

namespace Grpo.Tests.Tokenization;

/// <summary>
/// A small byte-level tokenizer whose ids can be worked out by hand: bytes are ids 0-255, merges follow in order.
/// </summary>
public class ByteLevelBpeTests
{
    // Merge ranks: "bc" first (id 256), then "ab" (257), then "abc" (258).
    static readonly HfTokenizer Tiny = new(TokenizerDefinition.CreateByteLevel(
        ["<|im_start|>", "<|im_end|>"], [("b", "c"), ("a", "b"), ("ab", "c")]));
    const int Bc = 256, Ab = 257, ImStart = 259, ImEnd = 260;

    [Fact]
    public void MergesApplyInRankOrderWithinAPiece()
    {
        // "abc": pairs ab (rank 1) and bc (rank 0); bc merges first, and "a"+"bc" is no merge.
        Assert.Equal([97, Bc], Tiny.Encode("abc"));
        Assert.Equal([Ab, Ab], Tiny.Encode("abab"));
        Assert.Equal([97, Bc, Ab], Tiny.Encode("abcab"));
    }

    [Fact]
    public void MergesNeverCrossPieces()
    {
        // Qwen's regex cuts "ab c" into "ab" and " c"; the space is byte 32.
        Assert.Equal([Ab, 32, 99], Tiny.Encode("ab c"));
    }

    [Fact]
    public void ByteTokensAreSpelledInGpt2sAlphabet()
    {
        Assert.Equal(32, Tiny.TokenToId("\u0120"));   // 'Ġ' stands for the space
        Assert.Equal(10, Tiny.TokenToId("\u010A"));   // 'Ċ' stands for the newline
        Assert.Equal(97, Tiny.TokenToId("a"));
        Assert.Equal(ImEnd + 1, Tiny.VocabSize);
    }

    [Fact]
    public void SpecialTokensAreMatchedWholeAndLongestFirst()
    {
        Assert.Equal([ImStart, Ab, ImEnd], Tiny.Encode("<|im_start|>ab<|im_end|>"));

        var overlapping = new HfTokenizer(TokenizerDefinition.CreateByteLevel(["<a>", "<a><b>"]));
        Assert.Equal([257], overlapping.Encode("<a><b>"));
        Assert.Equal([256, 120], overlapping.Encode("<a>x"));
    }

    [Fact]
    public void AddedTokenStripAndSingleWordOptionsAreHonoured()
    {
        var definition = TokenizerDefinition.CreateByteLevel([]);
        HfTokenizer With(AddedToken token) => new(definition with { AddedTokens = [token] });

        Assert.Equal([120, 256], With(new AddedToken(256, "<m>", true, LStrip: true)).Encode("x  <m>"));
        Assert.Equal([256, 120], With(new AddedToken(256, "<m>", true, RStrip: true)).Encode("<m> \nx"));
        var singleWord = With(new AddedToken(256, "m", true, SingleWord: true));
        Assert.Equal([256, 32, 256], singleWord.Encode("m m"));
        Assert.Equal([97, 109], singleWord.Encode("am"));
    }

    [Fact]
    public void NormalisationIsTheDefinitionsChoice()
    {
        // e + U+0301 is bytes 65 CC 81; NFC makes it U+00E9, bytes C3 A9.
        Assert.Equal([0xC3, 0xA9], Tiny.Encode("e\u0301"));
        var raw = new HfTokenizer(TokenizerDefinition.CreateByteLevel([]) with { Normalization = null });
        Assert.Equal([0x65, 0xCC, 0x81], raw.Encode("e\u0301"));
    }

    [Fact]
    public void IgnoreMergesTakesAWholePieceThatIsInTheVocabulary()
    {
        var definition = TokenizerDefinition.CreateByteLevel([], [("b", "c")]);
        var vocabulary = new Dictionary<string, int>(definition.Vocabulary) { ["abc"] = 257 };
        Assert.Equal([97, Bc], new HfTokenizer(definition with { Vocabulary = vocabulary }).Encode("abc"));
        Assert.Equal([257], new HfTokenizer(definition with { Vocabulary = vocabulary, IgnoreMerges = true }).Encode("abc"));
    }

    [Theory]
    [InlineData("Hello, world!\n\tTabs and  spaces  ")]
    [InlineData("中文数学题：小明有5个苹果。")]
    [InlineData("Emoji 🚀🔥👍🏽 and ZWJ 👨\u200d👩\u200d👧, maths 𝑥² + 𝟏")]
    [InlineData("cafe\u0301 <|im_start|>user\nHi<|im_end|>")]
    public void DecodeInvertsEncodeUpToNfc(string text)
    {
        Assert.Equal(text.Normalize(NormalizationForm.FormC), Tiny.Decode(Tiny.Encode(text), skipSpecialTokens: false));
    }

    [Fact]
    public void ACharacterCutShortDecodesToTheReplacementCharacter()
    {
        // € is E2 82 AC in UTF-8.
        Assert.Equal("€", Tiny.Decode([0xE2, 0x82, 0xAC]));
        Assert.Equal("\uFFFD", Tiny.Decode([0xE2, 0x82]));
    }

    [Fact]
    public void SplitPatternsRunOnCodePointsNotUtf16Units()
    {
        // U+1D465 MATHEMATICAL ITALIC SMALL X is a letter (Ll) and U+1D7CF MATHEMATICAL BOLD DIGIT ONE a digit (Nd),
        // each two UTF-16 units. Per code point, Qwen's regex keeps "a𝑥b" one letter run and takes digits one by one.
        var splitter = new SplitPreTokenizer([TokenizerDefinition.QwenSplitPattern], (_, e) => e);
        const string text = "a𝑥b 𝟏𝟐";
        var pieces = new List<(int Start, int Length)>();
        splitter.Split(text, pieces);
        Assert.Equal(["a𝑥b", " ", "𝟏", "𝟐"], pieces.Select(p => text.Substring(p.Start, p.Length)));
    }

    [Fact]
    public void SavedAndReloadedTinyTokenizerIsTheSame()
    {
        var path = Path.Combine(Directory.CreateTempSubdirectory("grpo-tiny-").FullName, "tokenizer.json");
        Tiny.Save(path);
        var reloaded = HfTokenizer.FromFile(path);
        Directory.Delete(Path.GetDirectoryName(path)!, recursive: true);

        Assert.Equal(Tiny.Definition.Vocabulary, reloaded.Definition.Vocabulary);
        Assert.Equal(Tiny.Definition.Merges, reloaded.Definition.Merges);
        Assert.Equal(Tiny.Definition.AddedTokens, reloaded.Definition.AddedTokens);
        Assert.Equal(Tiny.Definition.SplitPatterns, reloaded.Definition.SplitPatterns);
        Assert.Equal(Tiny.Definition.Normalization, reloaded.Definition.Normalization);
        Assert.Equal([ImStart, 97, Bc, ImEnd], reloaded.Encode("<|im_start|>abc<|im_end|>"));
    }

    [Fact]
    public void ATinyModelFolderWithTokenizerAndConfigLoadsCompletely()
    {
        var directory = Directory.CreateTempSubdirectory("grpo-tiny-folder-").FullName;
        Tiny.Save(Path.Combine(directory, "tokenizer.json"));
        new TokenizerConfig(Path.Combine(directory, TokenizerConfig.FileName), ChatMlFormatter.JinjaTemplate, null, "<|im_end|>", null).Save();

        var tokenizer = HfTokenizer.FromDirectory(directory);
        var formatter = ChatFormats.FromTokenizerConfig(TokenizerConfig.FromDirectory(directory));
        var eos = EosTokens.FromDirectory(directory, tokenizer);
        Directory.Delete(directory, recursive: true);

        var prompt = formatter.Format([new("user", "abc")], addGenerationPrompt: true);
        Assert.Equal("<|im_start|>user\nabc<|im_end|>\n<|im_start|>assistant\n", prompt);
        // "user\n" is one letter run and one newline piece: bytes u s e r, then 10.
        Assert.Equal([ImStart, 117, 115, 101, 114, 10, 97, Bc, ImEnd, 10, ImStart, 97, 115, 115, 105, 115, 116, 97, 110, 116, 10], tokenizer.Encode(prompt));
        Assert.Equal([ImEnd], eos);
    }

    [Fact]
    public void NegativeOrSharedIdsAreRefused()
    {
        var definition = TokenizerDefinition.CreateByteLevel([]);
        HfTokenizer With(params AddedToken[] tokens) => new(definition with { AddedTokens = tokens });

        Assert.Contains("-3", Assert.Throws<InvalidDataException>(() => With(new AddedToken(-3, "<x>", true))).Message);
        Assert.Contains("256 '<y>'", Assert.Throws<InvalidDataException>(() => With(new(256, "<x>", true), new(256, "<y>", true))).Message);
        Assert.Contains("257 '<x>'", Assert.Throws<InvalidDataException>(() => With(new(256, "<x>", true), new(257, "<x>", true))).Message);
    }
}
