using System.Diagnostics;

namespace Grpo.Benchmarks;

/// <summary>
/// Runs this benchmark program again in a fresh process, so that a measurement of resident memory starts from an empty
/// allocator and counts one workload only (the resident-set high-water mark is per process).
/// </summary>
internal static class ChildProcess
{
    /// <summary>The flag that keeps glibc's malloc defaults (no <see cref="Grpo.Runtime.GlibcMalloc.Configure"/> restart); children get it too.</summary>
    public const string DefaultMallocFlag = "--default-malloc";

    /// <summary>Whether this run was started with <see cref="DefaultMallocFlag"/>.</summary>
    public static bool DefaultMalloc { get; set; }

    /// <summary>Runs this program with <paramref name="args"/> and returns the line of its standard output that starts with "RESULT ", without that prefix.</summary>
    public static string Result(IEnumerable<string> args, string what)
    {
        // Under `dotnet run` the process is the app host; under `dotnet Grpo.Benchmarks.dll` it is dotnet plus the dll.
        var self = Environment.ProcessPath!;
        var prefix = Path.GetFileNameWithoutExtension(self) == "dotnet" ? [typeof(ChildProcess).Assembly.Location] : Array.Empty<string>();
        var start = new ProcessStartInfo(self) { RedirectStandardOutput = true };
        foreach (var a in prefix.Concat(args))
            start.ArgumentList.Add(a);
        if (DefaultMalloc) start.ArgumentList.Add(DefaultMallocFlag);
        using var child = Process.Start(start)!;
        var output = child.StandardOutput.ReadToEnd();
        child.WaitForExit();
        var line = output.Split('\n').FirstOrDefault(l => l.StartsWith("RESULT ", StringComparison.Ordinal))
                   ?? throw new InvalidOperationException($"The {what} child process exited with {child.ExitCode} and no result:\n{output}");
        return line["RESULT ".Length..].TrimEnd('\r');
    }
}
