using System.Text.Json;
using Grpo.Samples.MathReasoning;

namespace MathReasoning.Tests;

/// <summary>The sample's <c>--device</c>, <c>--dtype</c> and <c>--threads</c>: refused before anything is written, and a bfloat16 run.</summary>
public sealed class ComputeSettingsTests : IDisposable
{
    readonly SampleRunFolder _run = new();

    public void Dispose() => _run.Dispose();

    [Theory]
    [InlineData("gpu", "auto", null)]
    [InlineData("cpu", "int8", null)]
    [InlineData("cpu", "auto", 0)]
    public async Task ABadSettingIsRefusedBeforeAnythingIsWritten(string device, string dtype, int? threads)
    {
        var settings = _run.Short("never") with { Device = device, Dtype = dtype, Threads = threads };
        Assert.Equal(1, await TrainCommand.RunAsync(settings, CancellationToken.None));
        Assert.False(Directory.Exists(settings.OutputFolder));
        Assert.False(Directory.Exists(settings.OutputFolder + ".partial"));
    }

    [Fact]
    public void ThreadsDefaultToOneForTheBuiltInModelAndToThePhysicalCoresForAnother()
    {
        Assert.Equal(1, new TrainSettings().ResolvedThreads);
        Assert.Equal(Grpo.Runtime.CpuInfo.Current.PhysicalCores, _run.Short("x").ResolvedThreads);
        Assert.Equal(3, (_run.Short("x") with { Threads = 3 }).ResolvedThreads);
    }

    [Fact]
    public async Task ABFloat16RunSavesAFloat32Adapter()
    {
        // One step: emulated bfloat16 is slow on a CPU without native support.
        var settings = _run.Short("run") with { Steps = 1, Dtype = "bfloat16", Threads = 1 };
        Assert.Equal(0, await TrainCommand.RunAsync(settings, CancellationToken.None));
        var bytes = File.ReadAllBytes(Path.Combine(settings.OutputFolder!, "adapter", "adapter_model.safetensors"));
        using var header = JsonDocument.Parse(bytes.AsMemory(8, (int)BitConverter.ToUInt64(bytes, 0)));
        var dtypes = header.RootElement.EnumerateObject().Where(p => p.Name != "__metadata__").Select(p => p.Value.GetProperty("dtype").GetString()).ToList();
        Assert.NotEmpty(dtypes);
        Assert.All(dtypes, d => Assert.Equal("F32", d));
    }
}
