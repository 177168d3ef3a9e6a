using Grpo.Tokenization;

namespace Grpo.Tests.Tokenization;

/// <summary>EOS ids come from generation_config.json and tokenizer_config.json together.</summary>
public sealed class EosTokensTests : IDisposable
{
    readonly string _directory = Directory.CreateTempSubdirectory("grpo-eos-").FullName;
    static readonly HfTokenizer Tiny = new(TokenizerDefinition.CreateByteLevel(["<|endoftext|>", "<|im_end|>"]));
    const int EndOfText = 256, ImEnd = 257;

    public void Dispose() => Directory.Delete(_directory, recursive: true);

    void WriteGenerationConfig(string json) => File.WriteAllText(Path.Combine(_directory, EosTokens.GenerationConfigFileName), json);
    void WriteTokenizerConfig(string? eos) => new TokenizerConfig(Path.Combine(_directory, TokenizerConfig.FileName), null, null, eos, null).Save();

    [Fact]
    public void ASingleIdInGenerationConfigIsRead()
    {
        WriteGenerationConfig("""{"bos_token_id": 1, "eos_token_id": 2}""");
        Assert.Equal([2], EosTokens.FromDirectory(_directory, Tiny));
    }

    [Fact]
    public void AListInGenerationConfigJoinsTheTokenizerConfigsEosToken()
    {
        WriteGenerationConfig("""{"eos_token_id": [257, 256, 9]}""");
        WriteTokenizerConfig("<|im_end|>");
        Assert.Equal([9, EndOfText, ImEnd], EosTokens.FromDirectory(_directory, Tiny));
    }

    [Fact]
    public void TheTokenizerConfigAloneIsEnough()
    {
        WriteTokenizerConfig("<|endoftext|>");
        Assert.Equal([EndOfText], EosTokens.FromDirectory(_directory, Tiny));
    }

    [Fact]
    public void NoEosAnywhereIsAnError()
    {
        WriteTokenizerConfig(null);
        Assert.Contains("eos_token_id", Assert.Throws<InvalidDataException>(() => EosTokens.FromDirectory(_directory, Tiny)).Message);
    }

    [Fact]
    public void AnEosTokenTheTokenizerLacksIsAnError()
    {
        WriteTokenizerConfig("</s>");
        Assert.Contains("'</s>'", Assert.Throws<InvalidDataException>(() => EosTokens.FromDirectory(_directory, Tiny)).Message);
    }

    [Fact]
    public void ABadGenerationConfigNamesTheFile()
    {
        WriteGenerationConfig("""{"eos_token_id": "two"}""");
        var error = Assert.Throws<InvalidDataException>(() => EosTokens.FromDirectory(_directory, Tiny));
        Assert.Contains(Path.Combine(_directory, EosTokens.GenerationConfigFileName), error.Message);
    }
}
