namespace Grpo.Runtime;

/// <summary>
/// What the CPU offers this process, read from Linux's <c>/proc/cpuinfo</c>: its physical cores (the default thread
/// count: a second hyper-thread per core adds little to matrix products and contends for the same units) and its
/// feature flags (whether bfloat16 arithmetic is native, <c>avx512_bf16</c> or <c>amx_bf16</c>, or emulated through
/// float32 and slower than float32 itself). Elsewhere, or when the file cannot be read: every logical processor counts
/// as a core and no flag is known.
/// </summary>
public sealed class CpuInfo
{
    private static readonly Lazy<CpuInfo> _current = new(ReadCurrent);

    private CpuInfo(int physicalCores, IReadOnlySet<string> flags)
    {
        PhysicalCores = physicalCores;
        Flags = flags;
    }

    /// <summary>This machine's CPU, read once.</summary>
    public static CpuInfo Current => _current.Value;

    /// <summary>Physical cores this process may run on: distinct (package, core) pairs, at most the processors it is allowed (affinity, cgroup quota).</summary>
    public int PhysicalCores { get; }

    /// <summary>The feature flags of the first processor (<c>flags</c> on x86, <c>Features</c> on Arm).</summary>
    public IReadOnlySet<string> Flags { get; }

    /// <summary>True when the CPU computes bfloat16 natively (AVX512-BF16 or AMX-BF16), so bfloat16 weights run faster than float32.</summary>
    public bool HasNativeBFloat16 => Flags.Contains("avx512_bf16") || Flags.Contains("amx_bf16");

    /// <summary>
    /// Reads the text of a <c>/proc/cpuinfo</c>; <paramref name="allowedProcessors"/> caps the core count (a container
    /// or an affinity mask may give the process fewer processors than the machine has).
    /// </summary>
    public static CpuInfo Parse(string cpuinfo, int allowedProcessors)
    {
        ArgumentNullException.ThrowIfNull(cpuinfo);
        ArgumentOutOfRangeException.ThrowIfLessThan(allowedProcessors, 1);
        var cores = new HashSet<(string Package, string Core)>();
        int processors = 0;
        string package = "0";
        string? core = null;
        IReadOnlySet<string>? flags = null;
        // Blocks of "key : value" lines, one block per logical processor, separated by blank lines.
        foreach (var line in cpuinfo.Split('\n').Append(""))
        {
            var colon = line.IndexOf(':', StringComparison.Ordinal);
            if (colon < 0)
            {
                if (core is not null) cores.Add((package, core));
                (package, core) = ("0", null);
                continue;
            }
            var (key, value) = (line[..colon].Trim(), line[(colon + 1)..].Trim());
            switch (key)
            {
                case "processor": processors++; break;
                case "physical id": package = value; break;
                case "core id": core = value; break;
                case "flags" or "Features" when flags is null:
                    flags = value.Split(' ', StringSplitOptions.RemoveEmptyEntries).ToHashSet(StringComparer.Ordinal);
                    break;
            }
        }
        // Without core ids (Arm, some virtual machines) every processor is taken for a core.
        int physical = cores.Count > 0 ? cores.Count : processors;
        return new CpuInfo(Math.Clamp(physical, 1, allowedProcessors), flags ?? new HashSet<string>());
    }

    private static CpuInfo ReadCurrent()
    {
        const string path = "/proc/cpuinfo";
        if (OperatingSystem.IsLinux())
        {
            try
            {
                return Parse(File.ReadAllText(path), Environment.ProcessorCount);
            }
            catch (Exception e) when (e is IOException or UnauthorizedAccessException)
            {
                // A sandbox without /proc: fall through to what .NET knows.
            }
        }
        return new CpuInfo(Environment.ProcessorCount, new HashSet<string>());
    }
}
