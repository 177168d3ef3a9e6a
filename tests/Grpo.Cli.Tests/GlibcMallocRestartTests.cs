using System.Diagnostics;

namespace Grpo.Cli.Tests;

/// <summary>
/// The built tool restarts itself with glibc's malloc tuned (Grpo.Runtime.GlibcMalloc): the same process id,
/// its malloc variables in the environment the kernel shows for it, its arguments, output and exit code intact; and
/// malloc settings the user chose are left alone.
/// </summary>
public sealed class GlibcMallocRestartTests : IDisposable
{
    readonly string _directory = Directory.CreateTempSubdirectory("grpo-cli-arenas-").FullName;

    public void Dispose() => Directory.Delete(_directory, recursive: true);

    [Theory]
    [InlineData(null, "MALLOC_ARENA_MAX=1 MALLOC_MMAP_THRESHOLD_=131072 GLIBC_TUNABLES=glibc.malloc.hugetlb=1")]
    [InlineData("3", "MALLOC_ARENA_MAX=3")]
    public async Task TheToolRunsWithMallocTunedUnlessTheUserChoseALimit(string? givenArenaMax, string? expected)
    {
        if (!OperatingSystem.IsLinux()) return;
        // verify-math blocks opening a FIFO until a writer comes, which holds the process still for inspection.
        var fifo = Path.Combine(_directory, "input.jsonl");
        using (var mkfifo = Process.Start("mkfifo", [fifo])!) mkfifo.WaitForExit();
        var start = new ProcessStartInfo(Environment.GetEnvironmentVariable("DOTNET_HOST_PATH") ?? "dotnet")
        {
            RedirectStandardOutput = true,
            RedirectStandardError = true,
        };
        foreach (var argument in new[] { Path.Combine(AppContext.BaseDirectory, "Grpo.Cli.dll"), "verify-math", "--input", fifo })
            start.ArgumentList.Add(argument);
        WithoutMallocSettings(start);
        if (givenArenaMax is not null) start.Environment["MALLOC_ARENA_MAX"] = givenArenaMax;
        using var process = Process.Start(start)!;

        // Opening the FIFO to write returns once the tool has opened it to read, which it does after any restart
        // (the restart is Main's first statement). Then the kernel's record of the environment this pid was exec'd
        // with is the final one.
        await using (var writer = await Task.Run(() => new StreamWriter(fifo)).WaitAsync(TimeSpan.FromSeconds(60)))
        {
            var seen = File.ReadAllText($"/proc/{process.Id}/environ").Split('\0').Where(v => v.StartsWith("MALLOC_", StringComparison.Ordinal) || v.StartsWith("GLIBC_TUNABLES=", StringComparison.Ordinal));
            Assert.Equal(expected, string.Join(' ', seen));
            await writer.WriteAsync("""{"gold": "1/2", "pred": "0.5"}""" + "\n");
        }
        var stdout = process.StandardOutput.ReadToEndAsync();
        var stderr = process.StandardError.ReadToEndAsync();
        await process.WaitForExitAsync().WaitAsync(TimeSpan.FromSeconds(60));
        Assert.True(process.ExitCode == 0, await stderr);
        Assert.Contains("1 equivalent", await stdout + await stderr);
    }

    [Fact]
    public async Task TheExitCodeOfARefusalSurvivesTheRestart()
    {
        var start = new ProcessStartInfo(Environment.GetEnvironmentVariable("DOTNET_HOST_PATH") ?? "dotnet") { RedirectStandardError = true, RedirectStandardOutput = true };
        foreach (var argument in new[] { Path.Combine(AppContext.BaseDirectory, "Grpo.Cli.dll"), "verify-math", "--input", Path.Combine(_directory, "missing.jsonl") })
            start.ArgumentList.Add(argument);
        WithoutMallocSettings(start);
        using var process = Process.Start(start)!;
        var stderr = await process.StandardError.ReadToEndAsync();
        await process.WaitForExitAsync().WaitAsync(TimeSpan.FromSeconds(60));
        Assert.Equal(1, process.ExitCode);
        Assert.Contains("missing.jsonl' not found", stderr);
    }

    /// <summary>The test host may run under settings of its own (CI, a user's shell): the tool starts without them.</summary>
    static void WithoutMallocSettings(ProcessStartInfo start)
    {
        foreach (var name in start.Environment.Keys.Where(k => k.StartsWith("MALLOC_", StringComparison.Ordinal) || k == "GLIBC_TUNABLES").ToList())
            start.Environment.Remove(name);
    }
}
