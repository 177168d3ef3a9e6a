using System.Diagnostics;
using System.Text.Json;
using Grpo.Samples.MathReasoning;

namespace MathReasoning.Tests;

/// <summary>The README's "Training from code" block is samples/TrainingFromCode/Program.cs, and that program trains.</summary>
public sealed class TrainingFromCodeTests : IDisposable
{
    readonly string _work = Path.Combine(Path.GetTempPath(), "from-code-" + Guid.NewGuid().ToString("N"));

    public TrainingFromCodeTests() => Directory.CreateDirectory(_work);

    public void Dispose() => Directory.Delete(_work, recursive: true);

    static string RepositoryRoot()
    {
        var dir = new DirectoryInfo(AppContext.BaseDirectory);
        while (dir is not null && !File.Exists(Path.Combine(dir.FullName, "Grpo.sln"))) dir = dir.Parent;
        return dir?.FullName ?? throw new DirectoryNotFoundException("Grpo.sln not found above the test's folder.");
    }

    [Fact]
    public void The_readme_block_is_the_program_word_for_word()
    {
        var root = RepositoryRoot();
        var readme = File.ReadAllText(Path.Combine(root, "README.md")).ReplaceLineEndings("\n");
        var section = readme[readme.IndexOf("## Training from code", StringComparison.Ordinal)..];
        var start = section.IndexOf("```csharp\n", StringComparison.Ordinal) + "```csharp\n".Length;
        var block = section[start..section.IndexOf("```", start, StringComparison.Ordinal)];
        var program = File.ReadAllText(Path.Combine(root, "samples", "TrainingFromCode", "Program.cs")).ReplaceLineEndings("\n");
        Assert.Equal(program, block);
    }

    [Fact]
    public async Task The_program_trains_the_built_in_model_and_saves_a_peft_adapter()
    {
        var data = Path.Combine(_work, "train.jsonl");
        await File.WriteAllLinesAsync(data, ArithmeticWordProblems.Generate(16, seed: 3, ProblemSplit.Train)
            .Select(p => JsonSerializer.Serialize(new { question = p.Question, answer = p.Answer })));

        var start = new ProcessStartInfo("dotnet", [Path.Combine(AppContext.BaseDirectory, "TrainingFromCode.dll"), BuiltInModel.InstalledFolder, data, "2"])
        {
            WorkingDirectory = _work,
            RedirectStandardOutput = true,
            RedirectStandardError = true,
        };
        using var process = Process.Start(start)!;
        var output = process.StandardOutput.ReadToEndAsync();
        var error = process.StandardError.ReadToEndAsync();
        using var timeout = new CancellationTokenSource(TimeSpan.FromMinutes(5));
        await process.WaitForExitAsync(timeout.Token);

        Assert.True(process.ExitCode == 0, $"exit {process.ExitCode}: {await error}");
        Assert.Contains("step 2: reward", await output);
        Assert.True(File.Exists(Path.Combine(_work, "runs", "gsm8k", "adapter", "adapter_config.json")));
        Assert.Equal(2, File.ReadLines(Path.Combine(_work, "runs", "gsm8k", "metrics.jsonl")).Count());
        Assert.True(Directory.Exists(Path.Combine(_work, "runs", "gsm8k", "checkpoint-2")));
    }
}
