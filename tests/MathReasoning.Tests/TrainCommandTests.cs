using System.Text.Json;
using Grpo.Samples.MathReasoning;

namespace MathReasoning.Tests;

public sealed class TrainCommandTests : IDisposable
{
    readonly SampleRunFolder _run = new();

    public void Dispose() => _run.Dispose();

    [Theory]
    [InlineData(0)]
    [InlineData(4)]
    public async Task A_two_step_run_leaves_metrics_accuracy_plot_and_weights(int loraRank)
    {
        var settings = _run.Short("run") with { LoraRank = loraRank };
        Assert.Equal(0, await TrainCommand.RunAsync(settings, CancellationToken.None));

        var folder = settings.OutputFolder!;
        Assert.False(Directory.Exists(folder + ".partial"));
        var metrics = File.ReadAllLines(Path.Combine(folder, "metrics.jsonl"));
        Assert.Equal(2, metrics.Length);
        Assert.True(JsonDocument.Parse(metrics[1]).RootElement.TryGetProperty("kl", out _));
        var accuracy = File.ReadAllLines(Path.Combine(folder, "accuracy.jsonl")).Select(l => JsonDocument.Parse(l).RootElement.GetProperty("step").GetInt32());
        Assert.Equal([0, 1, 2], accuracy);
        Assert.Equal(4, File.ReadAllLines(Path.Combine(folder, "heldout.jsonl")).Length);
        Assert.Equal([0x89, (byte)'P', (byte)'N', (byte)'G'], File.ReadAllBytes(Path.Combine(folder, "plot.png"))[..4]);
        if (loraRank > 0) Assert.True(File.Exists(Path.Combine(folder, "adapter", "adapter_model.safetensors")));
        else Assert.True(File.Exists(Path.Combine(folder, "model", "model.safetensors")) && File.Exists(Path.Combine(folder, "model", "tokenizer.json")));
    }

    [Fact]
    public async Task A_run_trains_on_gsm8k_rows_holding_out_the_first()
    {
        var settings = _run.Short("gsm8k") with { DataFile = Path.Combine(AppContext.BaseDirectory, "Fixtures", "gsm8k-train-6.jsonl"), EvalCount = 2, LoraRank = 2 };
        Assert.Equal(0, await TrainCommand.RunAsync(settings, CancellationToken.None));
        Assert.Equal(2, File.ReadAllLines(Path.Combine(settings.OutputFolder!, "metrics.jsonl")).Length);
    }

    [Fact]
    [Trait("Category", "Slow")]
    public async Task Fifty_default_steps_on_the_built_in_model_raise_held_out_greedy_accuracy_by_twenty_points()
    {
        // The README's claim in small: the built-in model answers bare and mostly wrong, and GRPO with the sample's
        // defaults teaches it to work problems out. The answers are graded here by their "#### n" line, not by the
        // maths reward the run used.
        // 50 steps, not 30: a 30-step run's outcome swings with float-level changes in sampling (30 steps gained 20+
        // points before the decode engine and 13.3 after, with the same distribution rounded differently).
        var settings = new TrainSettings { OutputFolder = _run.PathOf("built-in"), Steps = 50, EvalCount = 128, EvalEvery = 50 };
        Assert.Equal(0, await TrainCommand.RunAsync(settings, CancellationToken.None));
        HeldOutAccuracy.AssertGain(settings.OutputFolder!, 128, 0.20);
    }

    [Fact]
    public async Task An_output_folder_that_holds_a_run_is_refused_and_left_alone()
    {
        var settings = _run.Short("taken");
        Directory.CreateDirectory(settings.OutputFolder!);
        File.WriteAllText(Path.Combine(settings.OutputFolder!, "metrics.jsonl"), "{}\n");
        Assert.Equal(1, await TrainCommand.RunAsync(settings, CancellationToken.None));
        Assert.Equal(["metrics.jsonl"], Directory.GetFiles(settings.OutputFolder!).Select(Path.GetFileName));
        Assert.False(Directory.Exists(settings.OutputFolder + ".partial"));
    }

    [Fact]
    public async Task A_folder_that_is_not_a_model_is_refused_before_anything_is_written()
    {
        var notAModel = Directory.CreateDirectory(_run.PathOf("not-a-model")).FullName;
        File.WriteAllText(Path.Combine(notAModel, "readme.txt"), "hello");
        var settings = _run.Short("never") with { ModelFolder = notAModel };
        Assert.Equal(1, await TrainCommand.RunAsync(settings, CancellationToken.None));
        Assert.False(Directory.Exists(settings.OutputFolder));
        Assert.False(Directory.Exists(settings.OutputFolder + ".partial"));
        var e = Assert.Throws<InvalidDataException>(() => LoadedModel.Load(notAModel, builtIn: false));
        Assert.Contains("not a usable model folder", e.Message);
        Assert.Contains("config.json", e.Message);
    }

    [Fact]
    public async Task A_dataset_line_without_an_answer_is_refused_naming_the_line()
    {
        var data = _run.PathOf("bad.jsonl");
        File.WriteAllLines(data, [
            """{"question": "What is 1+1?", "answer": "1+1=2\n#### 2"}""",
            "",
            """{"question": "What is 2+2?"}""",
        ]);
        var settings = _run.Short("never") with { DataFile = data, EvalCount = 1 };
        Assert.Equal(1, await TrainCommand.RunAsync(settings, CancellationToken.None));
        Assert.False(Directory.Exists(settings.OutputFolder + ".partial"));
        var e = Assert.Throws<InvalidDataException>(() => MathProblems.FromJsonl(data));
        Assert.Contains("bad.jsonl:3", e.Message);
        Assert.Contains("#### n", e.Message);
    }
}
