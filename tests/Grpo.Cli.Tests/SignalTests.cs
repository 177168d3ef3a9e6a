using System.Diagnostics;
using System.Text.RegularExpressions;
using Grpo.Training;

namespace Grpo.Cli.Tests;

/// <summary>
/// Real SIGINT and SIGTERM sent to the built tool: a run stops after (or in the middle of) its step with exit code
/// 130 / 143 and one line on stderr, leaves only complete checkpoints, and continues with --resume; a second Ctrl+C
/// ends the process at once; other commands stop with the same codes and one line.
/// </summary>
/// <remarks>Slow: each test starts the tool as a child process, whose start-up alone takes seconds.</remarks>
[Trait("Category", "Slow")]
public sealed partial class SignalTests : IDisposable
{
    readonly TinyRunFolder _folder = new("grpo-cli-signal-", [
        """{"question": "What is 2 + 3?", "answer": "#### 5"}""",
        """{"question": "What is 4 * 2?", "answer": "#### 8"}""",
        """{"question": "What is 9 - 1?", "answer": "#### 8"}""",
    ], dataName: "train.jsonl");

    public void Dispose() => _folder.Dispose();

    // Long enough (40 steps) that a signal after step 2 always lands in the middle of the run.
    string[] Train(int saveSteps = 1, int maxCompletionLength = 8, int groupSize = 2, int promptsPerStep = 2) =>
        _folder.Train("--steps", "40", "--save-steps", $"{saveSteps}", "--group-size", $"{groupSize}",
                      "--prompts-per-step", $"{promptsPerStep}", "--max-completion-length", $"{maxCompletionLength}", "--learning-rate", "1e-3", "--logging-steps", "1");

    [Theory]
    [InlineData("INT", 130)]
    [InlineData("TERM", 143)]
    public async Task ASignalStopsTheRunWithOneLineAndResumeContinuesFromTheNewestCheckpoint(string signal, int expectedExitCode)
    {
        int exitCode;
        string error;
        using (var run = CliProcess.Start("Grpo.Cli.dll", Train()))
        {
            await run.WaitForLineAsync("step 2/");
            run.Signal(signal);
            exitCode = await run.WaitForExitAsync();
            error = run.Error;
        }

        Assert.True(exitCode == expectedExitCode, $"exit code {exitCode}; stderr:\n{error}");
        var line = Assert.Single(error.Split('\n', StringSplitOptions.RemoveEmptyEntries));
        var stopped = StoppedLine().Match(line);
        Assert.True(stopped.Success, line);
        int step = int.Parse(stopped.Groups[1].Value), checkpointStep = int.Parse(stopped.Groups[2].Value);
        Assert.InRange(step, 2, 39);

        // Every step so far was checkpointed (--save-steps 1), and each checkpoint folder is complete; no temporary
        // folder of an abandoned write is left.
        var newest = TrainingCheckpoint.Latest(_folder.Output);
        Assert.Equal(TrainingCheckpoint.PathFor(_folder.Output, checkpointStep), newest);
        Assert.Equal(step, checkpointStep);
        var checkpoints = Directory.GetDirectories(_folder.Output, "checkpoint-*");
        Assert.Equal(step, checkpoints.Length);
        foreach (var checkpoint in checkpoints)
            Assert.Equal(int.Parse(Path.GetFileName(checkpoint)["checkpoint-".Length..]), TrainingCheckpoint.LoadState(checkpoint).Step);
        Assert.Empty(Directory.GetFileSystemEntries(_folder.Output, ".*"));
        Assert.False(File.Exists(Path.Combine(_folder.Output, "adapter_config.json")));

        var (resumedExitCode, stdout, resumedError) = await Cli.RunAsync(_folder.Train("--resume", "--steps", $"{step + 1}"));
        Assert.True(resumedExitCode == 0, resumedError);
        Assert.Contains($"resuming from {newest} (step {step})", stdout);
        Assert.Contains($"step {step + 1}/{step + 1}", stdout);
        Assert.True(File.Exists(Path.Combine(_folder.Output, "adapter_config.json")));
    }

    [GeneratedRegex(@"^grpo train: stopped at step (\d+); resume with --resume \(it continues from checkpoint-(\d+)\)\.$")]
    private static partial Regex StoppedLine();

    [Fact]
    public async Task ASignalBeforeTheFirstCheckpointSaysThereIsNothingToResume()
    {
        using var run = CliProcess.Start("Grpo.Cli.dll", Train(saveSteps: 100));
        await run.WaitForLineAsync("step 1/");
        run.Signal("TERM");

        Assert.Equal(143, await run.WaitForExitAsync());
        var line = Assert.Single(run.Error.Split('\n', StringSplitOptions.RemoveEmptyEntries));
        Assert.Matches(@"^grpo train: stopped at step \d+, before the first checkpoint, so there is no checkpoint to resume from yet; delete '.*' and start again", line);
        Assert.Null(TrainingCheckpoint.Latest(_folder.Output));
    }

    [Fact]
    public async Task ADoubleCtrlCExitsPromptlyWith130()
    {
        using var run = CliProcess.Start("Grpo.Cli.dll", Train());
        await run.WaitForLineAsync("step 1/");
        run.Signal("INT");
        var clock = Stopwatch.StartNew();
        run.Signal("INT");

        Assert.Equal(130, await run.WaitForExitAsync(seconds: 10));
        Assert.True(clock.Elapsed < TimeSpan.FromSeconds(5), $"took {clock.Elapsed}");
    }

    [Fact]
    public async Task ASecondSignalEndsTheProcessWithoutWaitingForTheCleanStop()
    {
        // Both signals reach the process together (it is stopped while they are sent), so the second is handled while
        // the clean stop that the first started is still under way: the process must end there, before the clean
        // stop prints its line.
        using var run = CliProcess.Start("Grpo.Cli.dll", Train());
        await run.WaitForLineAsync("step 1/");
        run.Signal("STOP");
        run.Signal("INT");
        run.Signal("TERM");
        run.Signal("CONT");

        Assert.Contains(await run.WaitForExitAsync(seconds: 10), new[] { 130, 143 });
        Assert.Equal("", run.Error);
    }

    [Fact]
    public async Task EvalStoppedBySigtermExits143WithOneLine()
    {
        // 2000 new tokens for 12 problems x (1 greedy + 16 sampled) completions: far longer than the wait below.
        var data = _folder.PathOf("eval.jsonl");
        File.WriteAllLines(data, Enumerable.Range(1, 12).Select(i => $$"""{"question": "What is {{i}} + 1?", "answer": "#### {{i + 1}}"}"""));
        var output = _folder.PathOf("eval-rows.jsonl");
        using var eval = CliProcess.Start("Grpo.Cli.dll", "eval", "--model", _folder.Model, "--data", data, "--max-new-tokens", "2000", "--k", "16", "--output", output);
        // No output until the end, so the wait is timed: long enough for the process to be up and its handlers registered.
        await Task.Delay(TimeSpan.FromSeconds(4));
        eval.Signal("TERM");
        var clock = Stopwatch.StartNew();

        Assert.Equal(143, await eval.WaitForExitAsync());
        Assert.True(clock.Elapsed < TimeSpan.FromSeconds(10), $"took {clock.Elapsed}");
        Assert.Equal("grpo eval: stopped before it finished; nothing more was written.", Assert.Single(eval.Error.Split('\n', StringSplitOptions.RemoveEmptyEntries)));
        Assert.False(File.Exists(output));
    }
}
