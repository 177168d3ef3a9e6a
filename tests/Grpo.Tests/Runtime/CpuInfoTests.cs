using Grpo.Runtime;

namespace Grpo.Tests.Runtime;

public class CpuInfoTests
{
    // Two packages of two cores with two hyper-threads each: 8 processors, 4 physical cores. Written by hand in the
    // layout of Linux's /proc/cpuinfo (one block per logical processor); only the second package has bfloat16.
    static string TwoSocketHyperThreaded()
    {
        var blocks = new List<string>();
        int processor = 0;
        foreach (var package in new[] { 0, 1 })
            foreach (var thread in new[] { 0, 1 })
                foreach (var core in new[] { 0, 1 })
                    blocks.Add($"processor\t: {processor++}\nvendor_id\t: GenuineIntel\nphysical id\t: {package}\n" +
                               $"core id\t\t: {core}\nflags\t\t: fpu sse2 avx2 avx512f{(package == 0 ? "" : " avx512_bf16 amx_bf16")}\n");
        return string.Join("\n", blocks);
    }

    [Fact]
    public void PhysicalCoresCountEachPackageAndCoreOnceAndFlagsComeFromTheFirstProcessor()
    {
        var cpu = CpuInfo.Parse(TwoSocketHyperThreaded(), allowedProcessors: 8);
        Assert.Equal(4, cpu.PhysicalCores);
        Assert.Contains("avx2", cpu.Flags);
        Assert.DoesNotContain("avx512_bf16", cpu.Flags);
        Assert.False(cpu.HasNativeBFloat16);
    }

    [Fact]
    public void TheProcessorsTheProcessMayUseCapTheCores()
    {
        Assert.Equal(3, CpuInfo.Parse(TwoSocketHyperThreaded(), allowedProcessors: 3).PhysicalCores);
    }

    [Theory]
    [InlineData("avx512_bf16", true)]
    [InlineData("amx_bf16", true)]
    [InlineData("avx512_fp16", false)]
    [InlineData("avx2", false)]
    public void NativeBFloat16NeedsAvx512Bf16OrAmxBf16(string flag, bool native)
    {
        var cpu = CpuInfo.Parse($"processor\t: 0\nphysical id\t: 0\ncore id\t\t: 0\nflags\t\t: fpu {flag}\n", 1);
        Assert.Equal(native, cpu.HasNativeBFloat16);
    }

    [Fact]
    public void WithoutCoreIdsEveryProcessorIsACore()
    {
        // An Arm /proc/cpuinfo: no physical id or core id lines, features under "Features".
        var arm = string.Join("\n", Enumerable.Range(0, 4).Select(i => $"processor\t: {i}\nBogoMIPS\t: 50.00\nFeatures\t: fp asimd bf16\n"));
        var cpu = CpuInfo.Parse(arm, allowedProcessors: 16);
        Assert.Equal(4, cpu.PhysicalCores);
        Assert.Contains("asimd", cpu.Flags);
    }

    [Fact]
    public void ThisMachineHasAtLeastOneCoreAndNoMoreThanItsProcessors()
    {
        Assert.InRange(CpuInfo.Current.PhysicalCores, 1, Environment.ProcessorCount);
    }
}
