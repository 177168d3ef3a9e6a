using System.Text.Json;
using TorchSharp;

namespace Grpo.Cli.Tests;

/// <summary><c>--device</c>, <c>--dtype</c> and <c>--threads</c> on the commands that load a model.</summary>
public sealed class ComputeOptionTests : IDisposable
{
    readonly TinyRunFolder _folder = new("grpo-cli-compute-", ["""{"question": "What is 2 + 3?", "answer": "#### 5"}""", """{"question": "What is 4 * 2?", "answer": "#### 8"}"""], alwaysSeven: true, chatTemplate: false);

    public void Dispose() => _folder.Dispose();

    string[] Needed(string command) => command switch
    {
        "train" => ["--model", _folder.Model, "--data", _folder.Data, "--output", _folder.Output],
        "eval" => ["--model", _folder.Model, "--data", _folder.Data],
        _ => ["--model", _folder.Model, "--prompt", "2 + 3 ="],
    };

    [Theory]
    [InlineData("train", "--device gpu", "--device: Device 'gpu' is not one of cpu, cuda or cuda:N")]
    [InlineData("eval", "--device cuda:x", "--device: Device 'cuda:x' is not one of cpu, cuda or cuda:N")]
    [InlineData("generate", "--dtype int8", "--dtype: 'int8' is not one of auto, bfloat16, float32, float16.")]
    [InlineData("train", "--dtype double", "--dtype: 'double' is not one of auto, bfloat16, float32, float16.")]
    [InlineData("eval", "--threads 0", "--threads must be at least 1, not 0.")]
    [InlineData("generate", "--threads -3", "--threads must be at least 1, not -3.")]
    public async Task ABadValueIsRefusedWithOneLineBeforeAnyWork(string command, string option, string expected)
    {
        var (exitCode, stdout, error) = await Cli.RunAsync([command, .. option.Split(' '), .. Needed(command)]);

        Assert.Equal(1, exitCode);
        Assert.Contains(expected, Assert.Single(error.Split('\n', StringSplitOptions.RemoveEmptyEntries)));
        Assert.Equal("", stdout);
        Assert.False(Directory.Exists(_folder.Output));
    }

    [Theory]
    [InlineData("train")]
    [InlineData("eval")]
    [InlineData("generate")]
    public async Task CudaOnTheCpuOnlyPackageSaysWhatToInstall(string command)
    {
        if (torch.cuda.is_available()) return;   // a CUDA build has nothing to refuse
        var (exitCode, _, error) = await Cli.RunAsync([command, "--device", "cuda", .. Needed(command)]);

        Assert.Equal(1, exitCode);
        var line = Assert.Single(error.Split('\n', StringSplitOptions.RemoveEmptyEntries));
        Assert.StartsWith($"grpo {command}: --device: Device 'cuda' needs CUDA", line);
        Assert.Contains("TorchSharp-cuda-linux", line);
        Assert.False(Directory.Exists(_folder.Output));
    }

    [Fact]
    public async Task GenerateRunsABFloat16ModelOnOneThread()
    {
        var (exitCode, stdout, error) = await Cli.RunAsync("generate", "--model", _folder.Model, "--prompt", "Count:", "--max-new-tokens", "3",
            "--temperature", "0", "--dtype", "bfloat16", "--threads", "1", "--device", "cpu");
        Assert.True(exitCode == 0, error);
        Assert.Equal("777", stdout.TrimEnd('\n'));
    }

    [Fact]
    public async Task TrainingOnABFloat16BaseSavesAFloat32Adapter()
    {
        var (exitCode, _, error) = await Cli.RunAsync(_folder.Train("--steps", "1", "--group-size", "2", "--prompts-per-step", "2", "--max-completion-length", "4", "--dtype", "bfloat16"));

        Assert.True(exitCode == 0, error);
        // The safetensors header: 8 bytes of length, then JSON naming each tensor's dtype (PEFT saves float32 adapters).
        var bytes = File.ReadAllBytes(Path.Combine(_folder.Output, "adapter_model.safetensors"));
        using var header = JsonDocument.Parse(bytes.AsMemory(8, (int)BitConverter.ToUInt64(bytes, 0)));
        var dtypes = header.RootElement.EnumerateObject().Where(p => p.Name != "__metadata__").Select(p => p.Value.GetProperty("dtype").GetString()).ToList();
        Assert.NotEmpty(dtypes);
        Assert.All(dtypes, d => Assert.Equal("F32", d));
    }
}
