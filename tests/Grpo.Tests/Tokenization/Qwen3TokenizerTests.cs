using System.Text;
using Grpo.Tokenization;

namespace Grpo.Tests.Tokenization;

/// <summary>The real Qwen3 tokenizer against ids computed by transformers.js, and its special and added tokens.</summary>
[Collection(Qwen3Collection.Name)]
public class Qwen3TokenizerTests(Qwen3Fixture qwen)
{
    // Ids of Qwen3's added tokens, as listed in its tokenizer.json.
    const int EndOfText = 151643, ImStart = 151644, ImEnd = 151645, Think = 151667, EndThink = 151668;

    [Fact]
    public void EveryReferenceRowEncodesToTheReferenceIds()
    {
        var mismatches = qwen.Reference
            .Where(row => !qwen.Tokenizer.Encode(row.Text).SequenceEqual(row.Ids))
            .Select(row => $"{row.Text}\n  expected [{string.Join(",", row.Ids)}]\n  got      [{string.Join(",", qwen.Tokenizer.Encode(row.Text))}]")
            .ToList();
        Assert.True(qwen.Reference.Count == 265, $"expected 265 reference rows, found {qwen.Reference.Count}");
        Assert.True(mismatches.Count == 0, string.Join("\n", mismatches));
    }

    [Fact]
    public void EncodingFromManyThreadsAtOnceGivesTheReferenceIds()
    {
        // The sampler and reward functions share one tokenizer; its BPE cache is filled concurrently here.
        var fresh = new HfTokenizer(qwen.Tokenizer.Definition);
        var wrong = 0;
        Parallel.For(0, qwen.Reference.Count * 4, new ParallelOptions { MaxDegreeOfParallelism = 8 }, i =>
        {
            var (text, ids) = qwen.Reference[i % qwen.Reference.Count];
            if (!fresh.Encode(text).SequenceEqual(ids))
                Interlocked.Increment(ref wrong);
        });
        Assert.Equal(0, wrong);
    }

    [Fact]
    public void EveryReferenceRowDecodesBackToItsNfcText()
    {
        foreach (var (text, ids) in qwen.Reference)
            Assert.Equal(text.Normalize(NormalizationForm.FormC), qwen.Tokenizer.Decode(ids, skipSpecialTokens: false));
    }

    [Fact]
    public void VocabSizeCountsTheAddedTokens() => Assert.Equal(EndThink + 1, qwen.Tokenizer.VocabSize);

    [Fact]
    public void SpecialTokensWrittenInTheTextBecomeTheirOwnIds()
    {
        var ids = qwen.Tokenizer.Encode("<|im_start|>user\nHi<|im_end|>");
        Assert.Equal([ImStart, .. qwen.Tokenizer.Encode("user\nHi"), ImEnd], ids);
        Assert.Equal([ImEnd, ImEnd, EndOfText], qwen.Tokenizer.Encode("<|im_end|><|im_end|><|endoftext|>"));
    }

    [Fact]
    public void AddedTokensCutTheTextIntoPartsEncodedSeparately()
    {
        // Without the cut, "x<think>y" would share BPE pieces across the tag.
        Assert.Equal([.. qwen.Tokenizer.Encode("x"), Think, .. qwen.Tokenizer.Encode("y")], qwen.Tokenizer.Encode("x<think>y"));
    }

    [Fact]
    public void DecodeLeavesOutSpecialTokensButKeepsAddedOnes()
    {
        const string text = "<|im_start|>assistant\n<think>\nok</think>\n42<|im_end|>";
        var ids = qwen.Tokenizer.Encode(text);
        Assert.Equal("assistant\n<think>\nok</think>\n42", qwen.Tokenizer.Decode(ids));
        Assert.Equal(text, qwen.Tokenizer.Decode(ids, skipSpecialTokens: false));
    }

    [Fact]
    public void TextIsPutInNfcBeforeEncoding()
    {
        // e + U+0301 COMBINING ACUTE ACCENT composes to U+00E9.
        Assert.Equal(qwen.Tokenizer.Encode("caf\u00E9 na\u00EFve"), qwen.Tokenizer.Encode("cafe\u0301 nai\u0308ve"));
    }

    [Fact]
    public void TokenToIdFindsAddedTokensAndReturnsNullForUnknownText()
    {
        Assert.Equal(ImEnd, qwen.Tokenizer.TokenToId("<|im_end|>"));
        Assert.Equal(Think, qwen.Tokenizer.TokenToId("<think>"));
        Assert.Null(qwen.Tokenizer.TokenToId("<|no such token|>"));
    }

    [Fact]
    public void IdsWithoutATokenAreLeftOutOfDecodedText()
    {
        // Qwen3's embedding has 151936 rows, more than the tokenizer's 151669 ids; sampling can pick the unused ones.
        var hello = qwen.Tokenizer.Encode("Hello");
        Assert.Equal("Hello", qwen.Tokenizer.Decode([151900, .. hello, -1]));
    }

    [Fact]
    public void ChatMlPromptFromTheConfigEncodesToTheReferenceIds()
    {
        var formatter = ChatFormats.FromTokenizerConfig(TokenizerConfig.FromDirectory(qwen.ModelDirectory));
        var prompt = formatter.Format([new("system", "You are a helpful assistant."), new("user", "Hi")], addGenerationPrompt: true);

        var reference = qwen.Reference.Single(row => row.Text.StartsWith("<|im_start|>system"));
        Assert.Equal(reference.Text, prompt);
        Assert.Equal(reference.Ids, qwen.Tokenizer.Encode(prompt));
    }

    [Fact]
    public void EosTokenComesFromTheTokenizerConfig()
    {
        Assert.Equal([ImEnd], EosTokens.FromDirectory(qwen.ModelDirectory, qwen.Tokenizer));
    }

    [Fact, Trait("Category", "Slow")]
    public void SavedAndReloadedTokenizerGivesTheSameIds()
    {
        var path = Path.Combine(qwen.ModelDirectory, "resaved-tokenizer.json");
        qwen.Tokenizer.Save(path);
        var reloaded = HfTokenizer.FromFile(path);
        File.Delete(path);

        Assert.Equal(qwen.Tokenizer.VocabSize, reloaded.VocabSize);
        foreach (var (text, ids) in qwen.Reference)
            Assert.Equal(ids, reloaded.Encode(text));
    }
}
