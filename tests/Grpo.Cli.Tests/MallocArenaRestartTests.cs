using System.Diagnostics;

namespace Grpo.Cli.Tests;

/// <summary>
/// The built tool restarts itself with <c>MALLOC_ARENA_MAX=1</c> (Grpo.Runtime.MallocArenas): the same process id,
/// the variable in the environment the kernel shows for it, its arguments, output and exit code intact; and a limit
/// the user set is left alone.
/// </summary>
public sealed class MallocArenaRestartTests : IDisposable
{
    readonly string _directory = Directory.CreateTempSubdirectory("grpo-cli-arenas-").FullName;

    public void Dispose() => Directory.Delete(_directory, recursive: true);

    [Theory]
    [InlineData(null, "1")]
    [InlineData("3", "3")]
    public async Task TheToolRunsWithOneArenaUnlessTheUserChoseALimit(string? given, string expected)
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
        start.Environment.Remove("MALLOC_ARENA_MAX");
        if (given is not null) start.Environment["MALLOC_ARENA_MAX"] = given;
        using var process = Process.Start(start)!;

        // The kernel's record of the environment this pid was exec'd with: after the restart, the new one.
        string? seen = null;
        for (var clock = Stopwatch.StartNew(); clock.Elapsed < TimeSpan.FromSeconds(30) && !process.HasExited; await Task.Delay(100))
        {
            seen = File.ReadAllText($"/proc/{process.Id}/environ").Split('\0').FirstOrDefault(v => v.StartsWith("MALLOC_ARENA_MAX=", StringComparison.Ordinal));
            if (seen is not null && File.ReadAllText($"/proc/{process.Id}/cmdline").Contains("verify-math", StringComparison.Ordinal)) break;
        }
        Assert.Equal($"MALLOC_ARENA_MAX={expected}", seen);

        await File.WriteAllTextAsync(fifo, """{"gold": "1/2", "pred": "0.5"}""" + "\n");
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
        start.Environment.Remove("MALLOC_ARENA_MAX");
        using var process = Process.Start(start)!;
        var stderr = await process.StandardError.ReadToEndAsync();
        await process.WaitForExitAsync().WaitAsync(TimeSpan.FromSeconds(60));
        Assert.Equal(1, process.ExitCode);
        Assert.Contains("missing.jsonl' not found", stderr);
    }
}
