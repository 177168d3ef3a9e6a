namespace Grpo.Cli.Tests;

/// <summary>
/// Bad option values in every command (zero, negative, NaN, too large to parse or to fit the model, missing files,
/// output paths that cannot be written): refused before any work with exactly one line on stderr that names the
/// option, never a stack trace, and nothing written.
/// </summary>
public sealed class OptionErrorTests : IDisposable
{
    readonly TinyRunFolder _folder = new("grpo-cli-options-", ["""{"question": "What is 2 + 3?", "answer": "#### 5", "text": "2 + 3"}"""], chatTemplate: false);

    public void Dispose() => _folder.Dispose();

    // {model}, {data} and {dir} stand for the tiny model folder, a one-row JSONL file and this test's folder; the tiny
    // model's context is 2048 tokens and its hidden size 96.
    [Theory]
    [InlineData("train --steps 1e12", "--steps: '1e12' is not a whole number")]
    [InlineData("train --steps 0", "MaxSteps = 0 is out of range")]
    [InlineData("train --learning-rate NaN", "LearningRate = NaN is out of range")]
    [InlineData("train --group-size -2", "NumGenerations = -2 is out of range")]
    [InlineData("train --loss-type Ppo", "--loss-type: 'Ppo' is not one of Grpo, Bnpo, DrGrpo, Dapo")]
    [InlineData("train --lora-rank 100000", "--lora-rank 100000 is more than the model's hidden size (96)")]
    [InlineData("train --lora-alpha NaN", "LoRA alpha must be a positive number, got NaN")]
    [InlineData("train --max-completion-length 100000", "--max-completion-length 100000 is more than the model's context of 2048 tokens")]
    [InlineData("train --data {dir}/missing.jsonl", "missing.jsonl' does not exist")]
    [InlineData("train --output {data}/run", "is a file")]
    [InlineData("eval --k 0", "--k must be at least 1")]
    [InlineData("eval --temperature NaN", "--temperature must be above 0")]
    [InlineData("eval --max-new-tokens 1e12", "--max-new-tokens: '1e12' is not a whole number")]
    [InlineData("eval --max-new-tokens 100000", "--max-new-tokens 100000 is more than the model's context of 2048 tokens")]
    [InlineData("eval --output {dir}/missing/rows.jsonl", "missing' does not exist")]
    [InlineData("eval --output {data}/rows.jsonl", "does not exist")]
    [InlineData("eval --output {dir}", "is a folder")]
    [InlineData("eval --adapter {dir}/no-adapter", "Adapter folder")]
    [InlineData("generate --max-new-tokens 0", "--max-new-tokens must be at least 1")]
    [InlineData("generate --temperature -1", "--temperature must be 0 (greedy) or above")]
    [InlineData("generate --top-p NaN", "--top-p must lie in (0, 1]")]
    [InlineData("generate --max-new-tokens 100000", "--max-new-tokens 100000 is more than the model's context of 2048 tokens")]
    [InlineData("generate --adapter {model}", "No adapter_config.json in")]
    [InlineData("tokenize --input {dir}/missing.jsonl", "missing.jsonl' does not exist")]
    [InlineData("tokenize --tokenizer {dir}/missing", "missing' does not exist")]
    [InlineData("train", "Option '--model' is required.")]
    public async Task ABadValueIsRefusedWithOneLineBeforeAnyWork(string commandLine, string expected)
    {
        var given = commandLine.Split(' ').Select(a => a.Replace("{model}", _folder.Model).Replace("{data}", _folder.Data).Replace("{dir}", _folder.Directory)).ToList();
        var command = given[0];
        // The options a command needs, each unless the case gives it itself; "train" alone checks the missing-option message.
        (string Option, string Value)[] needed = commandLine == "train" ? [] : command switch
        {
            "train" => [("--model", _folder.Model), ("--data", _folder.Data), ("--output", _folder.Output)],
            "eval" => [("--model", _folder.Model), ("--data", _folder.Data)],
            "generate" => [("--model", _folder.Model), ("--prompt", "2 + 3 =")],
            _ => [("--tokenizer", _folder.Model), ("--input", _folder.Data)],
        };
        string[] args = [.. given, .. needed.Where(n => !given.Contains(n.Option)).SelectMany(n => new[] { n.Option, n.Value })];

        var (exitCode, stdout, error) = await Cli.RunAsync(args);

        Assert.Equal(1, exitCode);
        var line = Assert.Single(error.Split('\n', StringSplitOptions.RemoveEmptyEntries));
        Assert.StartsWith($"grpo {command}: ", line);
        Assert.Contains(expected, line);
        Assert.Equal("", stdout);
        Assert.False(Directory.Exists(_folder.Output));
        Assert.False(File.Exists(_folder.PathOf("rows.jsonl")));
    }

    [Fact]
    public async Task AnEmptyPromptIsRefusedBeforeTheRunIsRecorded()
    {
        File.AppendAllLines(_folder.Data, ["""{"question": "", "answer": "#### 1"}"""]);

        var (exitCode, _, error) = await Cli.RunAsync(_folder.Train());

        Assert.Equal(1, exitCode);
        Assert.Equal($"grpo train: {_folder.Data} row 2 has an empty prompt", Assert.Single(error.Split('\n', StringSplitOptions.RemoveEmptyEntries)).Split(';')[0]);
        Assert.False(Directory.Exists(_folder.Output));
    }

    [Fact]
    public async Task TokenizeWritesNothingWhenALaterLineIsMalformed()
    {
        var input = _folder.PathOf("texts.jsonl");
        File.WriteAllLines(input, ["""{"text": "fine"}""", """{"text": 3}"""]);

        var (exitCode, stdout, error) = await Cli.RunAsync("tokenize", "--tokenizer", _folder.Model, "--input", input);

        Assert.Equal(1, exitCode);
        Assert.Equal("", stdout);
        Assert.Contains($"{input} line 2", error);
    }
}
