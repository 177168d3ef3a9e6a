using System.Globalization;

namespace Grpo.Benchmarks;

/// <summary>
/// This process's resident memory from /proc/self/status: VmRSS now and VmHWM, the high-water mark since start or since
/// the last <see cref="ResetPeak"/>. Every memory figure of the benchmark is read this way, so they compare.
/// </summary>
internal static class ProcessMemory
{
    /// <summary>Resident set now, in bytes.</summary>
    public static long ResidentBytes() => StatusKiB("VmRSS") * 1024;

    /// <summary>Resident-set high-water mark, in bytes.</summary>
    public static long PeakBytes() => StatusKiB("VmHWM") * 1024;

    /// <summary>Resets the high-water mark to the current resident set (writing 5 to /proc/self/clear_refs, Linux 4.0+); false where that is refused.</summary>
    public static bool ResetPeak()
    {
        try
        {
            File.WriteAllText("/proc/self/clear_refs", "5");
            return true;
        }
        catch (IOException) { return false; }
        catch (UnauthorizedAccessException) { return false; }
    }

    private static long StatusKiB(string field)
    {
        foreach (var line in File.ReadLines("/proc/self/status"))
            if (line.StartsWith(field + ":", StringComparison.Ordinal))
                return long.Parse(line[(field.Length + 1)..].Trim().Split(' ')[0], CultureInfo.InvariantCulture);
        throw new InvalidOperationException($"/proc/self/status has no {field}; the memory figures need Linux.");
    }
}
