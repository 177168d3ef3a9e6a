using Grpo.Runtime;
using TorchSharp;
using static TorchSharp.torch;

namespace Grpo.Tests.Runtime;

public class ComputeDeviceTests
{
    [Theory]
    [InlineData("cpu")]
    [InlineData(" CPU ")]
    public void CpuNamesTheCpu(string name) => Assert.Equal(DeviceType.CPU, ComputeDevice.Parse(name).type);

    [Theory]
    [InlineData("gpu")]
    [InlineData("cuda:")]
    [InlineData("cuda:-1")]
    [InlineData("cuda:x")]
    [InlineData("mps")]
    public void OtherNamesAreRefusedWithTheAcceptedOnes(string name)
    {
        var e = Assert.Throws<ArgumentException>(() => ComputeDevice.Parse(name));
        Assert.Equal($"Device '{name}' is not one of cpu, cuda or cuda:N (N the GPU's index, from 0).", e.Message);
    }

    [Fact]
    public void CudaOnACpuOnlyTorchSharpSaysWhatToInstall()
    {
        if (cuda.is_available()) return;   // a CUDA build: nothing to refuse (GpuCheck covers that machine)
        foreach (var name in new[] { "cuda", "cuda:1" })
        {
            var e = Assert.Throws<NotSupportedException>(() => ComputeDevice.Parse(name));
            Assert.Contains("TorchSharp-cuda-linux", e.Message);
            Assert.DoesNotContain('\n', e.Message);
        }
    }
}
