using System.Text.Json;
using Grpo.Lora;
using Grpo.Modeling;

namespace Grpo.Cli.Tests;

/// <summary>
/// <c>grpo eval</c> on a model that always writes '7' (see <see cref="TinyModelFolder"/>): with 4 new tokens every
/// completion, greedy or sampled, is "7777", so each row's verdicts are known in advance.
/// </summary>
public sealed class EvalCommandTests : IDisposable
{
    readonly TinyRunFolder _folder = new("grpo-cli-eval-", [
        """{"question": "Seven sevens?", "answer": "#### 7777"}""",
        """{"question": "What is 6 + 6?", "answer": "#### 12"}""",
        """{"question": "Write 7777 in LaTeX.", "answer": "\\boxed{7777}"}""",
        """{"question": "What is 1 + 1?", "answer": "2"}""",
    ], dataName: "test.jsonl", alwaysSeven: true);

    public void Dispose() => _folder.Dispose();

    string[] Eval(params string[] extra) => ["eval", "--model", _folder.Model, "--data", _folder.Data, "--max-new-tokens", "4", .. extra];

    [Fact]
    public async Task ReportsGreedyAccuracyPassAtKAndMajAtK()
    {
        var rows = _folder.PathOf("rows.jsonl");
        var (exitCode, stdout, error) = await Cli.RunAsync(Eval("--k", "2", "--samples", "3", "--output", rows));

        Assert.True(exitCode == 0, error);
        // Rows 1 and 3 want 7777: 2 of 4. Each of their 3 samples is right (pass@2 = 1), the others' none (0).
        Assert.Contains("problems    4", stdout);
        Assert.Contains("greedy      0.500  (2/4)", stdout);
        Assert.Contains("pass@2      0.500  (n = 3 samples per problem, temperature 1)", stdout);
        Assert.Contains("maj@2       0.500", stdout);

        var lines = File.ReadAllLines(rows).Select(l => JsonDocument.Parse(l).RootElement).ToList();
        Assert.Equal([1, 2, 3, 4], lines.Select(l => l.GetProperty("row").GetInt32()));
        Assert.All(lines, l => Assert.Equal("7777", l.GetProperty("greedy").GetString()));
        Assert.Equal([true, false, true, false], lines.Select(l => l.GetProperty("greedy_correct").GetBoolean()));
        Assert.Equal([3, 0, 3, 0], lines.Select(l => l.GetProperty("correct").GetInt32()));
        Assert.Equal([1.0, 0, 1, 0], lines.Select(l => l.GetProperty("pass_at_k").GetDouble()));
        Assert.All(lines, l => Assert.Equal("7777", l.GetProperty("majority_answer").GetString()));
        Assert.Equal([true, false, true, false], lines.Select(l => l.GetProperty("majority_correct").GetBoolean()));
        Assert.All(lines, l => Assert.Equal(["7777", "7777", "7777"], l.GetProperty("completions").EnumerateArray().Select(c => c.GetString())));
    }

    [Fact]
    public async Task GreedyOnlyWithZeroSamples()
    {
        var (exitCode, stdout, error) = await Cli.RunAsync(Eval("--samples", "0"));
        Assert.True(exitCode == 0, error);
        Assert.Contains("greedy      0.500  (2/4)", stdout);
        Assert.DoesNotContain("pass@", stdout);
    }

    [Fact]
    public async Task AnAdapterOfThisBaseLoadsAndOneOfAnotherIsRefused()
    {
        // A fresh adapter changes nothing (B = 0), so the results stay those of the base model.
        var own = _folder.PathOf("own-adapter");
        using (var model = Checkpoint.Load(_folder.Model))
            LoraModel.Apply(model, new LoraOptions { Rank = 2 }, _folder.Model).Save(own);
        var (exitCode, stdout, error) = await Cli.RunAsync(Eval("--samples", "0", "--adapter", own));
        Assert.True(exitCode == 0, error);
        Assert.Contains("greedy      0.500  (2/4)", stdout);

        var otherBase = TinyModelFolder.Create(_folder.PathOf("other"), seed: 2);
        var foreign = _folder.PathOf("foreign-adapter");
        using (var model = Checkpoint.Load(otherBase))
            LoraModel.Apply(model, new LoraOptions { Rank = 2 }, otherBase).Save(foreign);
        (exitCode, _, error) = await Cli.RunAsync(Eval("--adapter", foreign));
        Assert.Equal(1, exitCode);
        Assert.Contains($"was trained on '{otherBase}', not on '{_folder.Model}'", error);
    }

    [Fact]
    public async Task BadInputIsRefusedWithAMessage()
    {
        var (exitCode, _, error) = await Cli.RunAsync(Eval("--k", "4", "--samples", "2"));
        Assert.NotEqual(0, exitCode);
        Assert.Contains("--samples must be at least --k (4)", error);

        (exitCode, _, error) = await Cli.RunAsync("eval", "--model", _folder.PathOf("missing"), "--data", _folder.Data);
        Assert.Equal(1, exitCode);
        Assert.Contains("does not exist", error);

        File.AppendAllLines(_folder.Data, ["""{"question": "No gold here", "answer": "  "}"""]);
        (exitCode, _, error) = await Cli.RunAsync(Eval());
        Assert.Equal(1, exitCode);
        Assert.Contains($"{_folder.Data} row 5 has no \"answer\"", error);
    }
}
