using Grpo.Runtime;
using System.Diagnostics;

namespace Grpo.Benchmarks;

/// <summary>
/// The markdown table a benchmark command prints for the README (area, figure, measured, against, ratio), each row
/// also logged to standard error with the time since the start as it is measured, and the machine's state around it:
/// on a shared machine the load average says how far the absolute figures can be trusted.
/// </summary>
internal sealed class ResultTable
{
    private readonly List<string> _rows = [];
    private readonly Stopwatch _clock = Stopwatch.StartNew();
    private readonly string _loadAtStart = LoadAverage();

    /// <summary>Adds one row and logs it.</summary>
    public void Row(string area, string figure, string measured, string against, string ratio)
    {
        _rows.Add($"| {area} | {figure} | {measured} | {against} | {ratio} |");
        Console.Error.WriteLine($"[{_clock.Elapsed:mm\\:ss}] {area}: {figure}: {measured} ({against}; {ratio})");
    }

    /// <summary>Prints the machine line and the table to standard output.</summary>
    public void Print(int threads, string run)
    {
        Console.WriteLine($"Machine: {CpuModel()}, {Environment.ProcessorCount} cores, torch threads {threads}, " +
                          $"load average {_loadAtStart} at start and {LoadAverage()} at the end (1, 5, 15 min); TorchSharp CPU, {run} of {_clock.Elapsed.TotalMinutes:F1} min; " +
                          $"glibc malloc: {MallocSettings()}.");
        Console.WriteLine();
        Console.WriteLine("| area | figure | measured | against | ratio |");
        Console.WriteLine("| --- | --- | ---: | ---: | ---: |");
        _rows.ForEach(Console.WriteLine);
    }

    /// <summary>The malloc variables this process runs with (<see cref="GlibcMalloc"/> sets them unless --default-malloc).</summary>
    private static string MallocSettings()
    {
        var set = GlibcMalloc.MallocVariables.Append("GLIBC_TUNABLES")
            .Select(v => (Name: v, Value: Environment.GetEnvironmentVariable(v)))
            .Where(v => v.Value is not null)
            .Select(v => $"{v.Name}={v.Value}")
            .ToList();
        return set.Count == 0 ? "defaults" : string.Join(" ", set);
    }

    /// <summary>A rate in giga-units with one decimal: "97.5 GFLOP/s".</summary>
    public static string Giga(double value, string unit) => $"{value / 1e9:F1} G{unit}";

    /// <summary>Bytes in MiB or GiB, whichever reads better.</summary>
    public static string Bytes(double bytes) => bytes >= 1L << 30 ? $"{bytes / (1L << 30):F2} GiB" : $"{bytes / (1L << 20):F0} MiB";

    private static string CpuModel() =>
        File.ReadLines("/proc/cpuinfo").FirstOrDefault(l => l.StartsWith("model name", StringComparison.Ordinal))?.Split(':', 2)[1].Trim() ?? "unknown CPU";

    private static string LoadAverage() => string.Join(", ", File.ReadAllText("/proc/loadavg").Split(' ').Take(3));
}
