using System.CommandLine;
using System.Text.Json;
using Grpo.Cli;
using Grpo.Tokenization;

namespace Grpo.Cli.Tests;

/// <summary><c>grpo tokenize</c> on a tiny tokenizer whose ids are worked out by hand.</summary>
public sealed class TokenizeCommandTests : IDisposable
{
    readonly string _directory = Directory.CreateTempSubdirectory("grpo-cli-tokenize-").FullName;
    string InputPath => Path.Combine(_directory, "input.jsonl");

    public TokenizeCommandTests()
    {
        // Bytes are ids 0-255; merge "bc" is 256; <|im_end|> is 257.
        new HfTokenizer(TokenizerDefinition.CreateByteLevel(["<|im_end|>"], [("b", "c")])).Save(Path.Combine(_directory, "tokenizer.json"));
    }

    public void Dispose() => Directory.Delete(_directory, recursive: true);

    (int ExitCode, string Output, string Error) Run(params string[] args)
    {
        var root = new RootCommand();
        foreach (var command in Commands.All())
            root.Subcommands.Add(command);
        var output = new StringWriter();
        var error = new StringWriter();
        var exitCode = root.Parse(args).Invoke(new InvocationConfiguration { Output = output, Error = error });
        return (exitCode, output.ToString(), error.ToString());
    }

    [Fact]
    public void PrintsTextAndIdsForEachLineInOrder()
    {
        File.WriteAllLines(InputPath, ["""{"text": "abc", "id": 7}""", "", """{"text": "é<|im_end|>"}""", """{"text": ""}"""]);

        var (exitCode, output, error) = Run("tokenize", "--tokenizer", _directory, "--input", InputPath);

        Assert.Equal(0, exitCode);
        Assert.Equal("", error);
        var rows = output.Split('\n', StringSplitOptions.RemoveEmptyEntries).Select(line => JsonDocument.Parse(line).RootElement).ToList();
        Assert.Equal(["abc", "é<|im_end|>", ""], rows.Select(r => r.GetProperty("text").GetString()));
        // é is C3 A9 in UTF-8.
        int[][] expected = [[97, 256], [0xC3, 0xA9, 257], []];
        Assert.Equal(expected, rows.Select(r => r.GetProperty("ids").EnumerateArray().Select(id => id.GetInt32()).ToArray()));
    }

    [Fact]
    public void ALineWithoutTextNamesTheFileAndLine()
    {
        File.WriteAllLines(InputPath, ["""{"text": "a"}""", """{"prompt": "b"}"""]);
        var (exitCode, _, error) = Run("tokenize", "--tokenizer", _directory, "--input", InputPath);
        Assert.Equal(1, exitCode);
        Assert.Contains($"{InputPath} line 2", error);
    }

    [Fact]
    public void AMissingTokenizerOrInputIsReported()
    {
        File.WriteAllText(InputPath, """{"text": "a"}""");
        var missingFolder = Path.Combine(_directory, "no-model");
        var (exitCode, _, error) = Run("tokenize", "--tokenizer", missingFolder, "--input", InputPath);
        Assert.Equal(1, exitCode);
        Assert.Contains(missingFolder, error);

        (exitCode, _, error) = Run("tokenize", "--tokenizer", _directory, "--input", Path.Combine(_directory, "missing.jsonl"));
        Assert.Equal(1, exitCode);
        Assert.Contains("missing.jsonl", error);
    }
}
