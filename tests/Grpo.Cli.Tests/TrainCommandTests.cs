using System.Text.Json;
using Grpo.Training;

namespace Grpo.Cli.Tests;

/// <summary><c>grpo train</c> on a tiny model: a short run, its refusal to overwrite, resuming, config files and bad input.</summary>
public sealed class TrainCommandTests : IDisposable
{
    readonly TinyRunFolder _folder = new("grpo-cli-train-", [
        """{"question": "What is 2 + 3?", "answer": "2 + 3 = 5\n#### 5"}""",
        """{"question": "What is 4 * 2?", "answer": "#### 8"}""",
        """{"question": "Half of 1?", "answer": "\\boxed{\\frac{1}{2}}"}""",
    ], dataName: "train.jsonl");

    public void Dispose() => _folder.Dispose();

    // Small enough to take well under a second a step on the tiny model.
    string[] Train(params string[] extra) =>
        _folder.Train(["--group-size", "2", "--prompts-per-step", "2", "--max-completion-length", "4", "--learning-rate", "1e-3", .. extra]);

    static int MetricLines(string output) => File.ReadAllLines(Path.Combine(output, "metrics.jsonl")).Length;

    static string[] StepLines(string stdout) => stdout.Split('\n').Where(l => l.StartsWith("step ", StringComparison.Ordinal)).ToArray();

    [Fact]
    public async Task SaveStepsZeroWritesOneCheckpointAtTheEnd()
    {
        var (exitCode, _, error) = await Cli.RunAsync(Train("--steps", "3", "--save-steps", "0"));
        Assert.True(exitCode == 0, error);
        Assert.Equal(["checkpoint-3"], Directory.EnumerateDirectories(_folder.Output, "checkpoint-*").Select(Path.GetFileName));
    }

    [Fact]
    public async Task LoggingStepsSetsWhichStepsPrintALineAndMetricsKeepEveryStep()
    {
        var (exitCode, stdout, error) = await Cli.RunAsync(Train("--steps", "5", "--logging-steps", "2"));
        Assert.True(exitCode == 0, error);
        Assert.Equal(["step 1/5", "step 2/5", "step 4/5", "step 5/5"], StepLines(stdout).Select(l => l[..l.IndexOf("  ", StringComparison.Ordinal)]));
        Assert.Equal(5, MetricLines(_folder.Output));
    }

    [Fact]
    public async Task APromptPastTheContextIsRefusedInOneLineBeforeTheRunIsRecorded()
    {
        var data = _folder.PathOf("long.jsonl");
        File.WriteAllLines(data, [File.ReadLines(_folder.Data).First(), JsonSerializer.Serialize(new { question = new string('x', 2100), answer = "#### 1" })]);
        var (exitCode, _, error) = await Cli.RunAsync([.. Train("--steps", "1").Select(a => a == _folder.Data ? data : a)]);

        Assert.Equal(1, exitCode);
        var line = Assert.Single(error.Split('\n', StringSplitOptions.RemoveEmptyEntries));
        Assert.StartsWith("grpo train: Row 2 of the training set: its prompt is ", line);
        Assert.Contains("exceeds the model's context of 2048 tokens", line);
        Assert.False(Directory.Exists(_folder.Output) && Directory.EnumerateFileSystemEntries(_folder.Output).Any(), "a refused start leaves no run behind");
    }

    [Fact]
    public async Task TwoRunsWithTheSameSeedTrainTheSameAdapter()
    {
        var second = _folder.PathOf("again");
        var (exitCode, _, error) = await Cli.RunAsync(Train("--steps", "2", "--seed", "3"));
        Assert.True(exitCode == 0, error);
        (exitCode, _, error) = await Cli.RunAsync([.. Train("--steps", "2", "--seed", "3").Select(a => a == _folder.Output ? second : a)]);
        Assert.True(exitCode == 0, error);
        Assert.Equal(File.ReadAllBytes(Path.Combine(_folder.Output, "adapter_model.safetensors")), File.ReadAllBytes(Path.Combine(second, "adapter_model.safetensors")));
    }

    [Fact]
    public async Task AnEvalSetShowsItsAccuracyInTheStepLineAndTheMetrics()
    {
        var (exitCode, stdout, error) = await Cli.RunAsync(Train("--steps", "2", "--eval-data", _folder.Data, "--eval-steps", "1", "--num-generations-eval", "2"));
        Assert.True(exitCode == 0, error);
        Assert.All(StepLines(stdout), line => Assert.Matches(@"  eval_accuracy \d\.\d{3}$", line));
        var last = JsonDocument.Parse(File.ReadLines(Path.Combine(_folder.Output, "metrics.jsonl")).Last()).RootElement;
        var accuracy = last.GetProperty("eval_accuracy").GetDouble();
        Assert.Contains(accuracy, new[] { 0.0, 1 / 3.0, 2 / 3.0, 1.0 });   // a share of the three rows
        Assert.True(last.TryGetProperty("eval_pass@2", out _));
        Assert.NotEmpty(Directory.EnumerateFiles(Path.Combine(_folder.Output, "runs"), "events.out.tfevents.*"));
    }

    [Fact]
    public async Task TrainsSavesTheAdapterRefusesToOverwriteAndResumes()
    {
        var (exitCode, stdout, error) = await Cli.RunAsync(Train("--steps", "2"));

        Assert.True(exitCode == 0, error);
        Assert.Contains("step 1/2", stdout);
        Assert.Contains("step 2/2", stdout);
        Assert.Matches(@"step 2/2  reward \d\.\d{3} ± \d\.\d{3}  kl -  length \d+\.\d  \d+ tok/s", stdout);
        Assert.Equal(2, MetricLines(_folder.Output));
        Assert.True(File.Exists(Path.Combine(_folder.Output, "adapter_config.json")));
        Assert.True(File.Exists(Path.Combine(_folder.Output, "adapter_model.safetensors")));
        Assert.Equal(Path.Combine(_folder.Output, "checkpoint-2"), TrainingCheckpoint.Latest(_folder.Output));
        Assert.False(Directory.Exists(Path.Combine(_folder.Output, ".final.tmp")));
        using (var adapterConfig = JsonDocument.Parse(File.ReadAllText(Path.Combine(_folder.Output, "adapter_config.json"))))
            Assert.Equal(_folder.Model, adapterConfig.RootElement.GetProperty("base_model_name_or_path").GetString());

        (exitCode, _, error) = await Cli.RunAsync(Train("--steps", "2"));
        Assert.Equal(1, exitCode);
        Assert.Contains("already holds a run", error);
        Assert.Contains("--resume", error);
        Assert.Equal(2, MetricLines(_folder.Output));

        // The saved run supplies the settings; only the new length is given.
        (exitCode, stdout, error) = await Cli.RunAsync(_folder.Train("--resume", "--steps", "3"));
        Assert.True(exitCode == 0, error);
        Assert.Contains($"resuming from {Path.Combine(_folder.Output, "checkpoint-2")} (step 2)", stdout);
        Assert.DoesNotContain("step 2/3", stdout);
        Assert.Contains("step 3/3", stdout);
        Assert.Equal(3, MetricLines(_folder.Output));
        Assert.Equal(Path.Combine(_folder.Output, "checkpoint-3"), TrainingCheckpoint.Latest(_folder.Output));
    }

    [Fact]
    public async Task CtrlCStopsAfterACheckpointThatResumeContinues()
    {
        // Cancel as the first step's line is printed, as Ctrl+C during step 2 would.
        using var cancel = new CancellationTokenSource();
        var output = new CancelOnLine("step 1/", cancel);
        var (exitCode, _, error) = await Cli.RunAsync(Train("--steps", "3", "--save-steps", "1"), output, cancel.Token);

        Assert.Equal(130, exitCode);
        Assert.Equal($"grpo train: stopped at step 1; resume with --resume (it continues from checkpoint-1).{Environment.NewLine}", error);
        Assert.Equal(Path.Combine(_folder.Output, "checkpoint-1"), TrainingCheckpoint.Latest(_folder.Output));
        Assert.False(File.Exists(Path.Combine(_folder.Output, "adapter_config.json")));

        (exitCode, var stdout, error) = await Cli.RunAsync(Train("--steps", "3", "--save-steps", "1", "--resume"));
        Assert.True(exitCode == 0, error);
        Assert.Contains("step 3/3", stdout);
        Assert.True(File.Exists(Path.Combine(_folder.Output, "adapter_config.json")));
    }

    sealed class CancelOnLine(string text, CancellationTokenSource cancel) : StringWriter
    {
        public override void WriteLine(string? value)
        {
            base.WriteLine(value);
            if (value?.StartsWith(text, StringComparison.Ordinal) == true) cancel.Cancel();
        }
    }

    [Fact]
    public async Task AConfigFileSetsOptionsAndTheCommandLineWins()
    {
        var config = _folder.PathOf("config.json");
        File.WriteAllText(config, """{ "maxsteps": 5, "NumGenerations": 2, "PromptsPerStep": 2, "MaxCompletionLength": 3, "LossType": "DrGrpo", "Beta": 0.01 }""");

        var (exitCode, stdout, error) = await Cli.RunAsync(_folder.Train("--config", config, "--steps", "1"));

        Assert.True(exitCode == 0, error);
        Assert.Contains("step 1/1", stdout);
        Assert.Matches(@"kl \d\.\d{4}", stdout);
        using var run = JsonDocument.Parse(File.ReadAllText(Path.Combine(_folder.Output, "grpo_run.json")));
        var options = run.RootElement.GetProperty("Options");
        Assert.Equal(1, options.GetProperty("MaxSteps").GetInt32());
        Assert.Equal(3, options.GetProperty("MaxCompletionLength").GetInt32());
        Assert.Equal("DrGrpo", options.GetProperty("LossType").GetString());
        Assert.Equal(0.01, options.GetProperty("Beta").GetDouble());
        // Computed properties are not settings, so the saved run leaves them out.
        Assert.False(options.TryGetProperty("EffectiveEpsilonHigh", out _));
        Assert.False(options.TryGetProperty("GenerationBatchSize", out _));
    }

    [Fact]
    public async Task TheTrainingMemoryOptionsReachTheRun()
    {
        var (exitCode, _, error) = await Cli.RunAsync(Train("--steps", "1", "--gradient-checkpointing", "false", "--max-tokens-per-micro-batch", "64"));

        Assert.True(exitCode == 0, error);
        using var run = JsonDocument.Parse(File.ReadAllText(Path.Combine(_folder.Output, "grpo_run.json")));
        var options = run.RootElement.GetProperty("Options");
        Assert.False(options.GetProperty("GradientCheckpointing").GetBoolean());   // on by default (TRL), so false must come from the command line
        Assert.Equal(64, options.GetProperty("MaxTokensPerMicroBatch").GetInt32());
    }

    [Theory]
    [InlineData("EffectiveEpsilonHigh", "0.28")]
    [InlineData("generationBatchSize", "16")]
    public async Task AComputedConfigFieldIsRefusedByName(string field, string value)
    {
        var config = _folder.PathOf("config.json");
        File.WriteAllText(config, $$"""{ "MaxSteps": 1, "{{field}}": {{value}} }""");

        var (exitCode, _, error) = await Cli.RunAsync(_folder.Train("--config", config));

        Assert.Equal(1, exitCode);
        var line = Assert.Single(error.Split('\n', StringSplitOptions.RemoveEmptyEntries));
        Assert.Contains($"Config file '{config}': \"{field}\" cannot be set", line);
        Assert.False(Directory.Exists(_folder.Output));
    }

    [Fact]
    public async Task ResumeKeepsTheRunsDeviceAndDtypeUnlessGivenAgain()
    {
        // The tiny checkpoint is float32, so auto would load it in float32: a resumed run that forgot the recorded
        // bfloat16 would record float32 (the dtype the weights were actually loaded in).
        static (string? Device, string? Dtype) Recorded(string output)
        {
            using var run = JsonDocument.Parse(File.ReadAllText(Path.Combine(output, "grpo_run.json")));
            return (run.RootElement.GetProperty("Device").GetString(), run.RootElement.GetProperty("Dtype").GetString());
        }
        var (exitCode, _, error) = await Cli.RunAsync(Train("--steps", "1", "--dtype", "bfloat16"));
        Assert.True(exitCode == 0, error);
        Assert.Equal(("cpu", "bfloat16"), Recorded(_folder.Output));

        (exitCode, var stdout, error) = await Cli.RunAsync(_folder.Train("--resume", "--steps", "2"));
        Assert.True(exitCode == 0, error);
        Assert.Contains("step 2/2", stdout);
        Assert.Equal(("cpu", "bfloat16"), Recorded(_folder.Output));

        (exitCode, _, error) = await Cli.RunAsync(_folder.Train("--resume", "--steps", "3", "--dtype", "float32"));
        Assert.True(exitCode == 0, error);
        Assert.Equal(("cpu", "float32"), Recorded(_folder.Output));
    }

    [Fact]
    public async Task ARunSavedWithComputedFieldsStillResumes()
    {
        // grpo_run.json files written before computed properties were left out carry them; resuming must not trip on them.
        var (exitCode, _, error) = await Cli.RunAsync(Train("--steps", "1"));
        Assert.True(exitCode == 0, error);
        var runFile = Path.Combine(_folder.Output, "grpo_run.json");
        var run = System.Text.Json.Nodes.JsonNode.Parse(File.ReadAllText(runFile))!;
        run["Options"]!["EffectiveEpsilonHigh"] = 0.2;
        run["Options"]!["GenerationBatchSize"] = 4;
        File.WriteAllText(runFile, run.ToJsonString());

        (exitCode, var stdout, error) = await Cli.RunAsync(_folder.Train("--resume", "--steps", "2"));
        Assert.True(exitCode == 0, error);
        Assert.Contains("step 2/2", stdout);
    }

    [Fact]
    public async Task AMisspelledConfigFieldIsRefusedByName()
    {
        var config = _folder.PathOf("config.json");
        File.WriteAllText(config, """{ "MaxStep": 5 }""");
        var (exitCode, _, error) = await Cli.RunAsync(_folder.Train("--config", config));
        Assert.Equal(1, exitCode);
        Assert.Contains("MaxStep", error);
        Assert.Contains(config, error);
    }

    [Fact]
    public async Task ARowWithoutAnAnswerStopsTheRunBeforeAnythingIsWritten()
    {
        File.AppendAllLines(_folder.Data, ["""{"question": "What is 1 + 1?"}"""]);
        var (exitCode, _, error) = await Cli.RunAsync(Train("--steps", "1"));
        Assert.Equal(1, exitCode);
        Assert.Contains($"{_folder.Data} row 4 has no \"answer\"", error);
        Assert.Single(error.TrimEnd().Split('\n'));
        Assert.False(Directory.Exists(_folder.Output));
    }

    [Fact]
    public async Task AFolderThatIsNotAModelIsNamed()
    {
        var notAModel = Directory.CreateDirectory(_folder.PathOf("empty")).FullName;
        var (exitCode, _, error) = await Cli.RunAsync("train", "--model", notAModel, "--data", _folder.Data, "--output", _folder.Output);
        Assert.Equal(1, exitCode);
        Assert.Contains($"'{notAModel}' is not a model folder: it has no config.json", error);
    }

    [Fact]
    public async Task BadOptionValuesAreRefusedWithTheFix()
    {
        var (exitCode, _, error) = await Cli.RunAsync(Train("--beta", "-1"));
        Assert.Equal(1, exitCode);
        Assert.Contains("Beta = -1 is out of range", error);

        (exitCode, _, error) = await Cli.RunAsync(Train("--reward", "maths"));
        Assert.NotEqual(0, exitCode);
        Assert.Contains("maths", error);

        (exitCode, _, error) = await Cli.RunAsync(Train("--full", "--lora-rank", "4"));
        Assert.NotEqual(0, exitCode);
        Assert.Contains("--full trains every weight", error);

        (exitCode, _, error) = await Cli.RunAsync(Train("--resume"));
        Assert.Equal(1, exitCode);
        Assert.Contains("holds no run", error);
        Assert.False(Directory.Exists(_folder.Output));
    }
}
