using System.Text.Json;

namespace Grpo.Cli.Tests;

/// <summary><c>grpo generate</c> on the model that always writes '7', so every completion is known.</summary>
public sealed class GenerateCommandTests : IDisposable
{
    readonly string _directory = Directory.CreateTempSubdirectory("grpo-cli-generate-").FullName;
    readonly string _model;

    public GenerateCommandTests() => _model = TinyModelFolder.Create(Path.Combine(_directory, "model"), alwaysSeven: true, chatTemplate: false);

    public void Dispose() => Directory.Delete(_directory, recursive: true);

    [Fact]
    public async Task PrintsTheCompletionOfAPrompt()
    {
        var (exitCode, stdout, error) = await Cli.RunAsync("generate", "--model", _model, "--prompt", "Count:", "--max-new-tokens", "3", "--temperature", "0");
        Assert.True(exitCode == 0, error);
        Assert.Equal("777", stdout.TrimEnd('\n'));
    }

    [Fact]
    public async Task WritesEachInputRowBackWithItsCompletionInOrder()
    {
        var input = Path.Combine(_directory, "prompts.jsonl");
        File.WriteAllLines(input, ["""{"prompt": "a", "id": 1}""", "", """{"prompt": "é", "id": 2}"""]);

        var (exitCode, stdout, error) = await Cli.RunAsync("generate", "--model", _model, "--input", input, "--max-new-tokens", "2", "--seed", "3");

        Assert.True(exitCode == 0, error);
        var rows = stdout.Split('\n', StringSplitOptions.RemoveEmptyEntries).Select(l => JsonDocument.Parse(l).RootElement).ToList();
        Assert.Equal(["a", "é"], rows.Select(r => r.GetProperty("prompt").GetString()));
        Assert.Equal([1, 2], rows.Select(r => r.GetProperty("id").GetInt32()));
        Assert.All(rows, r => Assert.Equal("77", r.GetProperty("completion").GetString()));
    }

    [Fact]
    public async Task BadArgumentsAreRefusedWithTheFix()
    {
        var (exitCode, _, error) = await Cli.RunAsync("generate", "--model", _model);
        Assert.NotEqual(0, exitCode);
        Assert.Contains("Give exactly one of --prompt TEXT or --input FILE.jsonl.", error);

        (exitCode, _, error) = await Cli.RunAsync("generate", "--model", _model, "--prompt", "x", "--top-p", "0");
        Assert.NotEqual(0, exitCode);
        Assert.Contains("--top-p must lie in (0, 1]", error);

        // This folder has no chat template.
        (exitCode, _, error) = await Cli.RunAsync("generate", "--model", _model, "--prompt", "x", "--chat");
        Assert.Equal(1, exitCode);
        Assert.Contains("has no chat template", error);
    }
}
