using System.Text.Json.Nodes;

namespace Grpo.GpuCheck.Tests;

/// <summary>
/// The GPU check program's CPU mode, as CI runs it: the same checks the GPU run makes (transformers' logits and greedy
/// tokens from the hf-reference fixtures, the library's GrpoStep in float32 on a replayed batch against float64), and the
/// speed run's code path on the tiny shape. The expected values are transformers' and PEFT's, stored in the fixtures.
/// </summary>
public class CheckProgramCpuTests
{
    private static readonly string[] SpeedKeys =
    [
        "step_seconds", "sampling_seconds", "rewards_seconds", "reference_seconds", "policy_seconds",
        "decode_tokens_per_second", "training_tokens_per_second", "training_tflops_per_second",
        "matmul_bf16_tflops_per_second", "training_mfu", "step_mfu",
    ];

    [Fact]
    public void CpuModePassesEveryCheckAndWritesTheSpeedFigures()
    {
        var outDir = Directory.CreateTempSubdirectory("gpucheck-").FullName;
        var log = new StringWriter();

        int exit = CheckProgram.Run(["--device", "cpu", "--out", outDir, "--shape", "tiny", "--steps", "1"], log);

        Assert.True(exit == 0, log.ToString());
        var json = JsonNode.Parse(File.ReadAllText(Path.Combine(outDir, CheckReport.JsonFileName)))!;
        Assert.Equal("cpu", (string?)json["device"]);
        Assert.True((bool)json["passed"]!);
        var checks = json["checks"]!.AsArray();
        // 5 checkpoints x (float32 + bfloat16 logits) + 1 long-context pair + 4 greedy + 2 adapters x (on + off) + 3 step checks.
        Assert.Equal(5 * 2 + 2 + 4 + 2 * 2 + 3, checks.Count);
        Assert.All(checks, c => Assert.True((double)c!["measured"]! <= (double)c["tolerance"]!, c.ToJsonString()));
        Assert.All(checks.Where(c => ((string)c!["name"]!).StartsWith("greedy", StringComparison.Ordinal)), c => Assert.Equal(0, (double)c!["measured"]!));

        var speed = json["speed"]!;
        Assert.Equal("tiny", (string?)speed["shape"]);
        Assert.Equal(2 * 2, (long)speed["rows"]!);
        foreach (var key in SpeedKeys)
            Assert.True((double)speed[key]! > 0, $"{key} = {speed[key]}");
        // GrpoStep's phases follow one another on one clock; the step's total adds only the metrics after the policy update.
        double phases = new[] { "sampling_seconds", "rewards_seconds", "reference_seconds", "policy_seconds" }.Sum(k => (double)speed[k]!);
        double step = (double)speed["step_seconds"]!;
        Assert.InRange(step - phases, 0, 0.1 * step);
        Assert.Null(speed["peak_gpu_memory_mib"]);   // no nvidia-smi poller on the CPU
        Assert.Contains("| check | measured | tolerance |", File.ReadAllText(Path.Combine(outDir, CheckReport.MarkdownFileName)));
    }

    [Fact]
    [Trait("Category", "Slow")]
    public void ALogitsCheckFailsWhenTheExpectedValuesBelongToAnotherModel()
    {
        // Swap qwen2-bias-yarn's stored transformers outputs for llama-linear's (same shapes, another model).
        var source = Path.Combine(AppContext.BaseDirectory, "Fixtures", "hf-reference");
        var fixtures = Directory.CreateTempSubdirectory("gpucheck-fixtures-").FullName;
        foreach (var file in Directory.EnumerateFiles(source, "*", SearchOption.AllDirectories))
        {
            var target = Path.Combine(fixtures, Path.GetRelativePath(source, file));
            Directory.CreateDirectory(Path.GetDirectoryName(target)!);
            File.Copy(file, target);
        }
        File.Copy(Path.Combine(source, "llama-linear", "reference.safetensors"), Path.Combine(fixtures, "qwen2-bias-yarn", "reference.safetensors"), overwrite: true);

        var results = FixtureParity.Run(fixtures, TorchSharp.DeviceType.CPU);

        Assert.False(results.Single(r => r.Name == "logits float32 qwen2-bias-yarn").Passed);
        Assert.False(results.Single(r => r.Name == "logits bfloat16 qwen2-bias-yarn").Passed);
        Assert.False(results.Single(r => r.Name == "greedy tokens float32 qwen2-bias-yarn").Passed);
        Assert.True(results.Single(r => r.Name == "logits float32 llama-linear").Passed);
    }

    [Theory]
    [InlineData(new[] { "--out", "x" }, "--device is required")]
    [InlineData(new[] { "--device", "tpu", "--out", "x" }, "--device 'tpu' is not supported; use cpu or cuda")]
    [InlineData(new[] { "--device", "cpu" }, "--out is required")]
    [InlineData(new[] { "--device", "cpu", "--out", "x", "--shape", "llama-70b" }, "--shape 'llama-70b' is not known")]
    [InlineData(new[] { "--device", "cpu", "--out", "x", "--steps", "0" }, "--steps '0' must be a whole number of at least 1")]
    [InlineData(new[] { "--device", "cpu", "--out", "x", "--fast" }, "Unknown option '--fast'")]
    public void BadCommandLinesExitWithTwoAndSayWhatIsWrong(string[] args, string message)
    {
        var log = new StringWriter();

        Assert.Equal(2, CheckProgram.Run(args, log));
        Assert.Contains(message, log.ToString());
        Assert.Contains(CheckOptions.Usage, log.ToString());
    }

    [Fact]
    public void HelpPrintsTheUsageAndExitsWithZero()
    {
        // run-on-device.sh starts the published program with --help to learn that it runs on the GPU machine.
        var log = new StringWriter();

        Assert.Equal(0, CheckProgram.Run(["--help"], log));
        Assert.Equal(CheckOptions.Usage, log.ToString().Trim());
    }

    [Fact]
    public void AResultThatIsNotANumberFails()
    {
        Assert.False(new CheckResult("x", double.NaN, 1, "").Passed);
        Assert.True(new CheckResult("x", 1, 1, "").Passed);
        Assert.False(new CheckResult("x", 1.0000001, 1, "").Passed);
    }
}
