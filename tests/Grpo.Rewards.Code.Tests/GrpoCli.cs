using System.Diagnostics;
using System.Reflection;

namespace Grpo.Rewards.Code.Tests;

/// <summary>The built <c>grpo</c> tool, run as a process as a user runs it, with its own temporary folder.</summary>
public static class GrpoCli
{
    /// <summary>Starts <c>dotnet Grpo.Cli.dll ARGS</c> with TMPDIR set to <paramref name="temporaryFolder"/>, so its worker pools land there.</summary>
    public static Process Start(string temporaryFolder, params string[] args)
    {
        var cli = typeof(GrpoCli).Assembly.GetCustomAttributes<AssemblyMetadataAttribute>().Single(a => a.Key == "GrpoCliAssembly").Value!;
        var start = new ProcessStartInfo(Environment.GetEnvironmentVariable("DOTNET_HOST_PATH") ?? "dotnet")
        {
            RedirectStandardOutput = true,
            RedirectStandardError = true,
        };
        foreach (var argument in new[] { cli }.Concat(args))
            start.ArgumentList.Add(argument);
        start.Environment["TMPDIR"] = temporaryFolder;
        return Process.Start(start)!;
    }

    /// <summary>Runs the tool to its end and returns its exit code and standard error.</summary>
    public static async Task<(int ExitCode, string Stderr)> RunAsync(string temporaryFolder, params string[] args)
    {
        using var process = Start(temporaryFolder, args);
        var stdout = process.StandardOutput.ReadToEndAsync();
        var stderr = process.StandardError.ReadToEndAsync();
        using var timeout = new CancellationTokenSource(TimeSpan.FromMinutes(2));
        await process.WaitForExitAsync(timeout.Token);
        await stdout;
        return (process.ExitCode, await stderr);
    }

    /// <summary>The worker pools' folders under <paramref name="temporaryFolder"/>.</summary>
    public static string[] PoolFolders(string temporaryFolder) => Directory.GetDirectories(temporaryFolder, "grpo-code-*");
}
