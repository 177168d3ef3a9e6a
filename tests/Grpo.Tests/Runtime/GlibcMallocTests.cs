using System.Text;
using Grpo.Runtime;

namespace Grpo.Tests.Runtime;

/// <summary>
/// The decisions of <see cref="GlibcMalloc"/>; the restart itself is checked on the built <c>grpo</c> tool
/// (Grpo.Cli.Tests' GlibcMallocRestartTests), since it replaces the process that calls it.
/// </summary>
public class GlibcMallocTests
{
    const string HugePages = "glibc.malloc.hugetlb=1";

    [Theory]
    [InlineData(null, false, true, HugePages)]
    [InlineData("", false, true, HugePages)]
    [InlineData("glibc.rtld.optional_static_tls=2048", false, true, "glibc.rtld.optional_static_tls=2048:" + HugePages)]   // other tunables kept
    [InlineData(null, true, true, null)]                                       // MALLOC_ARENA_MAX and the like: the user chose
    [InlineData("glibc.malloc.arena_max=2", false, true, null)]                // so did this user
    [InlineData("glibc.rtld.optional_static_tls=2048:glibc.malloc.tcache_count=0", false, true, null)]
    [InlineData(null, false, false, null)]                                     // musl, or not Linux
    public void RestartsOnlyOnGlibcWithMallocUntuned(string? tunables, bool mallocVariableSet, bool glibc, string? expectedTunables)
    {
        var settings = GlibcMalloc.SettingsToApply(tunables, mallocVariableSet, glibc);
        if (expectedTunables is null)
        {
            Assert.Null(settings);
            return;
        }
        Assert.Equal([("MALLOC_ARENA_MAX", "1"), ("MALLOC_MMAP_THRESHOLD_", "131072"), ("GLIBC_TUNABLES", expectedTunables)], settings);
    }

    [Fact]
    public void ArgumentsStartAfterEachNulIncludingEmptyOnes()
    {
        // dotnet Grpo.Cli.dll --system-prompt "" x: every argument ends with a NUL, the empty one is a NUL alone.
        var cmdline = Encoding.UTF8.GetBytes("dotnet\0Grpo.Cli.dll\0--system-prompt\0\0x\0");
        Assert.Equal([0, 7, 20, 36, 37], GlibcMalloc.ArgumentStarts(cmdline));
    }

    [Fact]
    public void ACmdlineWithoutItsFinalNulIsNotPassedOn()
    {
        Assert.Empty(GlibcMalloc.ArgumentStarts(Encoding.UTF8.GetBytes("dotnet\0Grpo.Cli.dll")));
        Assert.Empty(GlibcMalloc.ArgumentStarts([]));
    }

    [Fact]
    public void ThisProcessesCmdlineSplitsIntoItsArguments()
    {
        // The test host's own /proc/self/cmdline, read back through the offsets, gives .NET's view of the command line.
        var bytes = File.ReadAllBytes("/proc/self/cmdline");
        var arguments = GlibcMalloc.ArgumentStarts(bytes).Select(s => Encoding.UTF8.GetString(bytes, s, Array.IndexOf(bytes, (byte)0, s) - s)).ToArray();
        Assert.Equal(Environment.GetCommandLineArgs()[1..], arguments[^(Environment.GetCommandLineArgs().Length - 1)..]);
    }
}
