using System.Text.Json.Nodes;
using Grpo.Tokenization;

namespace Grpo.Tests.Tokenization;

/// <summary>Missing, corrupt and unsupported tokenizer files fail with an error that names the file and the setting.</summary>
public sealed class TokenizerFileErrorTests : IDisposable
{
    readonly string _directory = Directory.CreateTempSubdirectory("grpo-tokenizer-errors-").FullName;
    string TokenizerPath => Path.Combine(_directory, "tokenizer.json");

    public void Dispose() => Directory.Delete(_directory, recursive: true);

    /// <summary>Writes a valid tiny tokenizer.json changed by <paramref name="edit"/>, and returns the error loading it gives.</summary>
    InvalidDataException LoadEdited(Action<JsonObject> edit)
    {
        new HfTokenizer(TokenizerDefinition.CreateByteLevel(["<|end|>"], [("a", "b")])).Save(TokenizerPath);
        var json = JsonNode.Parse(File.ReadAllText(TokenizerPath))!.AsObject();
        edit(json);
        File.WriteAllText(TokenizerPath, json.ToJsonString());
        var error = Assert.Throws<InvalidDataException>(() => HfTokenizer.FromFile(TokenizerPath));
        Assert.Contains(TokenizerPath, error.Message);
        return error;
    }

    [Fact]
    public void AMissingFileOrFolderIsNamed()
    {
        var missing = Path.Combine(_directory, "nope", "tokenizer.json");
        Assert.Contains(missing, Assert.Throws<FileNotFoundException>(() => HfTokenizer.FromFile(missing)).Message);
        var missingFolder = Path.Combine(_directory, "nope");
        Assert.Contains(missingFolder, Assert.Throws<DirectoryNotFoundException>(() => HfTokenizer.FromDirectory(missingFolder)).Message);
        Assert.Contains(TokenizerPath, Assert.Throws<FileNotFoundException>(() => HfTokenizer.FromDirectory(_directory)).Message);
    }

    [Fact]
    public void CorruptJsonIsReported()
    {
        File.WriteAllText(TokenizerPath, """{"model": {"type": "BPE", "vocab": {"a": 0""");
        var error = Assert.Throws<InvalidDataException>(() => HfTokenizer.FromFile(TokenizerPath));
        Assert.Contains(TokenizerPath, error.Message);
        Assert.Contains("not valid JSON", error.Message);
    }

    [Fact]
    public void JsonThatIsNotATokenizerIsReported()
    {
        File.WriteAllText(TokenizerPath, """{"vocab_size": 3}""");
        Assert.Contains("no \"model\"", Assert.Throws<InvalidDataException>(() => HfTokenizer.FromFile(TokenizerPath)).Message);
        Assert.Contains("vocab", LoadEdited(json => json["model"]!["vocab"] = 12).Message);
    }

    [Fact]
    public void UnsupportedModelTypeIsNamed() =>
        Assert.Contains("'Unigram'", LoadEdited(json => json["model"]!["type"] = "Unigram").Message);

    [Fact]
    public void UnsupportedPreTokenizerIsNamed() =>
        Assert.Contains("'Metaspace'", LoadEdited(json => json["pre_tokenizer"] = new JsonObject { ["type"] = "Metaspace", ["replacement"] = "▁" }).Message);

    [Fact]
    public void APreTokenizerWithoutByteLevelIsRefused() =>
        Assert.Contains("without a ByteLevel step", LoadEdited(json => json["pre_tokenizer"]!["pretokenizers"]!.AsArray().RemoveAt(1)).Message);

    [Fact]
    public void UnsupportedSplitBehaviourIsNamed() =>
        Assert.Contains("'Removed'", LoadEdited(json => json["pre_tokenizer"]!["pretokenizers"]![0]!["behavior"] = "Removed").Message);

    [Fact]
    public void UnsupportedNormalizerIsNamed() =>
        Assert.Contains("Lowercase", LoadEdited(json => json["normalizer"] = new JsonObject { ["type"] = "Lowercase" }).Message);

    [Fact]
    public void ByteFallbackIsRefused() =>
        Assert.Contains("byte_fallback", LoadEdited(json => json["model"]!["byte_fallback"] = true).Message);

    [Fact]
    public void ASplitRegexDotNetCannotCompileIsNamed() =>
        // \p{Han} is a script class, which .NET regexes do not have.
        Assert.Contains(@"\p{Han}", LoadEdited(json => json["pre_tokenizer"]!["pretokenizers"]![0]!["pattern"]!["Regex"] = @"\p{Han}+").Message);

    [Fact]
    public void AMergeOutsideTheVocabularyIsNamed() =>
        Assert.Contains("merge 1", LoadEdited(json => json["model"]!["merges"]!.AsArray().Add(new JsonArray("x", "yz"))).Message);
}
