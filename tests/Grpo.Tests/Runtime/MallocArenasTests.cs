using System.Text;
using Grpo.Runtime;

namespace Grpo.Tests.Runtime;

/// <summary>
/// The decisions of <see cref="MallocArenas"/>; the restart itself is checked on the built <c>grpo</c> tool
/// (Grpo.Cli.Tests' MallocArenaRestartTests), since it replaces the process that calls it.
/// </summary>
public class MallocArenasTests
{
    [Theory]
    [InlineData(null, null, true, true)]
    [InlineData(null, "glibc.malloc.tcache_count=0", true, true)]
    [InlineData("4", null, true, false)]                          // the user's own limit wins
    [InlineData("", null, true, false)]                           // set, even empty: also how the restarted process knows
    [InlineData(null, "glibc.malloc.arena_max=2", true, false)]
    [InlineData(null, "glibc.malloc.tcache_count=0:glibc.malloc.arena_max=2", true, false)]
    [InlineData(null, null, false, false)]                        // musl, or not Linux
    public void RestartsOnlyOnGlibcWithNoArenaLimitSet(string? arenaMax, string? tunables, bool glibc, bool restart) =>
        Assert.Equal(restart, MallocArenas.ShouldRestart(arenaMax, tunables, glibc));

    [Fact]
    public void ArgumentsStartAfterEachNulIncludingEmptyOnes()
    {
        // dotnet Grpo.Cli.dll --system-prompt "" x: every argument ends with a NUL, the empty one is a NUL alone.
        var cmdline = Encoding.UTF8.GetBytes("dotnet\0Grpo.Cli.dll\0--system-prompt\0\0x\0");
        Assert.Equal([0, 7, 20, 36, 37], MallocArenas.ArgumentStarts(cmdline));
    }

    [Fact]
    public void ACmdlineWithoutItsFinalNulIsNotPassedOn()
    {
        Assert.Empty(MallocArenas.ArgumentStarts(Encoding.UTF8.GetBytes("dotnet\0Grpo.Cli.dll")));
        Assert.Empty(MallocArenas.ArgumentStarts([]));
    }

    [Fact]
    public void ThisProcessesCmdlineSplitsIntoItsArguments()
    {
        // The test host's own /proc/self/cmdline, read back through the offsets, gives .NET's view of the command line.
        var bytes = File.ReadAllBytes("/proc/self/cmdline");
        var arguments = MallocArenas.ArgumentStarts(bytes).Select(s => Encoding.UTF8.GetString(bytes, s, Array.IndexOf(bytes, (byte)0, s) - s)).ToArray();
        Assert.Equal(Environment.GetCommandLineArgs()[1..], arguments[^(Environment.GetCommandLineArgs().Length - 1)..]);
    }
}
