using System.Runtime.InteropServices;

namespace Grpo.Runtime;

/// <summary>
/// Sets glibc's malloc up for libtorch's allocation pattern (large, differently sized activation buffers allocated and
/// freed by several threads in turn), so that native memory neither grows from step to step nor holds freed buffers:
/// one arena, a fixed mmap threshold of 128 KiB, and transparent huge pages for what it maps.
/// </summary>
/// <remarks>
/// <para>What each setting does, measured on one GRPO step of the Qwen2.5-0.5B shape (float32, 4 prompts × 8 × 64
/// tokens, checkpointing on; README "Memory per trained token"):</para>
/// <list type="bullet">
/// <item>One arena (<c>MALLOC_ARENA_MAX=1</c>): by default each thread that allocates gets its own arena (up to 8 per core);
/// pages freed in an arena its thread may not touch again stay resident, and the resident size grew 9.1 to 12.5 GB over
/// 3 steps (issue 16). One arena keeps it flat.</item>
/// <item>A fixed mmap threshold (<c>MALLOC_MMAP_THRESHOLD_=131072</c>): glibc's default threshold is dynamic; it rises to the size of any
/// mapped block that is freed (up to 32 MiB), after which activation buffers come from the heap and stay there, and
/// the step peaked at 7.9 GB with 2.2 GB of weights. A fixed threshold gives every larger buffer its own mapping,
/// returned when freed: 3.2 GB. The price is system calls and page faults for buffers that come and go at every
/// token: the maths sample's small model spends 150–170 s of its 7-minute run in the kernel at 128 KiB or 1 MiB, and
/// 2 s at 4 MiB (4.4 minutes); but at 4 MiB the 0.5B shape's hidden states of a small step (2.6 MiB) stay in the heap,
/// and without checkpointing that step's peak above the weights doubled. Real models come first.</item>
/// <item>Huge pages (<c>GLIBC_TUNABLES=glibc.malloc.hugetlb=1</c>; glibc 2.35 and later; older ones ignore it): the fresh mappings are advised
/// as transparent huge pages, so the kernel faults them in 2 MiB at a time instead of 4 KiB; without it a 128 KiB
/// threshold cost 15–25 % more CPU in page faults.</item>
/// </list>
/// <para>glibc reads these settings when malloc first runs, long before a .NET program's Main, and by then the runtime's
/// threads have arenas of their own (<c>mallopt</c> from inside would come too late). So <see cref="Configure"/> sets
/// the variables (<see cref="Settings"/>) and replaces the process with a fresh run of the same executable and the same arguments
/// (<c>execv</c> of <c>/proc/self/exe</c> with <c>/proc/self/cmdline</c>). The process id, the parent, the open
/// standard streams and the exit code stay the same, so shells, <c>dotnet run</c>, <c>dotnet tool</c> and process
/// supervisors see one process; only start-up happens twice (tens of milliseconds).</para>
/// <para>It does nothing on other systems, on a C library other than glibc, or when the user has tuned malloc already
/// (any <c>glibc.malloc.*</c> in <c>GLIBC_TUNABLES</c>, or one of glibc's <c>MALLOC_*</c> variables): the user's choice
/// wins, and the restarted process finds its own settings and goes on. Child processes inherit them.</para>
/// </remarks>
public static class GlibcMalloc
{
    /// <summary>The variables <see cref="Configure"/> sets: one arena, the fixed mmap threshold, and (appended to any <c>GLIBC_TUNABLES</c>) huge pages.</summary>
    public static readonly IReadOnlyList<(string Name, string Value)> Settings =
        [("MALLOC_ARENA_MAX", "1"), ("MALLOC_MMAP_THRESHOLD_", "131072"), (TunablesVariable, "glibc.malloc.hugetlb=1")];

    /// <summary>glibc's environment variables for malloc; any one set means the user has chosen.</summary>
    public static readonly IReadOnlyList<string> MallocVariables = ["MALLOC_ARENA_MAX", "MALLOC_MMAP_THRESHOLD_", "MALLOC_TRIM_THRESHOLD_", "MALLOC_TOP_PAD_", "MALLOC_MMAP_MAX_"];

    private const string TunablesVariable = "GLIBC_TUNABLES";

    /// <summary>
    /// Call as the first statement of Main: on Linux with glibc and malloc not tuned by the user, restarts the process
    /// in place with <see cref="Settings"/> and does not return; otherwise returns at once. Nothing the program did
    /// before the call survives the restart, so call it before any other work (the restart repeats that work).
    /// </summary>
    public static void Configure()
    {
        var given = Environment.GetEnvironmentVariable(TunablesVariable);
        var settings = SettingsToApply(given, MallocVariables.Any(v => Environment.GetEnvironmentVariable(v) is not null), OperatingSystem.IsLinux() && IsGlibc());
        if (settings is null) return;
        byte[] cmdline;
        try
        {
            cmdline = File.ReadAllBytes("/proc/self/cmdline");
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException)
        {
            return;   // no /proc: keep glibc's defaults rather than fail the program
        }
        var starts = ArgumentStarts(cmdline);
        if (starts.Length == 0 || settings.Any(s => setenv(s.Name, s.Value, 1) != 0))
        {
            Restore(given);
            return;
        }
        // The arguments byte for byte as the process got them (each already NUL-terminated in the buffer), not
        // re-encoded through .NET strings.
        var pinned = GCHandle.Alloc(cmdline, GCHandleType.Pinned);
        try
        {
            var origin = pinned.AddrOfPinnedObject();
            execv("/proc/self/exe", [.. starts.Select(offset => origin + offset), IntPtr.Zero]);
        }
        finally
        {
            pinned.Free();
        }
        // execv returns only when it failed (e.g. the executable was replaced on disk): carry on as we are, and leave
        // the environment of child processes as it was.
        Restore(given);
    }

    /// <summary>
    /// The variables to restart with, or null for no restart: glibc, no <c>glibc.malloc.*</c> tunable in
    /// <paramref name="glibcTunables"/> and no <c>MALLOC_*</c> variable set (<paramref name="mallocVariableSet"/>).
    /// Other tunables the user set are kept. The two older variables carry arena and threshold rather than
    /// <c>GLIBC_TUNABLES</c>, because glibc 2.36 cuts a multi-tunable <c>GLIBC_TUNABLES</c> short in the environment it
    /// leaves to the program (it parses the string in place), so child processes would inherit only the first.
    /// </summary>
    internal static IReadOnlyList<(string Name, string Value)>? SettingsToApply(string? glibcTunables, bool mallocVariableSet, bool glibc)
    {
        if (!glibc || mallocVariableSet || (glibcTunables ?? "").Contains("glibc.malloc.", StringComparison.Ordinal)) return null;
        return string.IsNullOrEmpty(glibcTunables)
            ? Settings
            : [.. Settings.Select(s => s.Name == TunablesVariable ? (s.Name, glibcTunables + ":" + s.Value) : s)];
    }

    private static void Restore(string? tunables)
    {
        foreach (var (name, _) in Settings) unsetenv(name);
        if (tunables is not null) setenv(TunablesVariable, tunables, 1);
    }

    /// <summary>
    /// Where each argument starts in <c>/proc/self/cmdline</c>'s bytes, where every argument (an empty one too) ends
    /// with a NUL byte.
    /// </summary>
    internal static int[] ArgumentStarts(byte[] cmdline)
    {
        var starts = new List<int>();
        for (int i = 0; i < cmdline.Length; i++)
            if (i == 0 || cmdline[i - 1] == 0) starts.Add(i);
        // A buffer cut short without its final NUL cannot be passed on safely.
        return cmdline.Length > 0 && cmdline[^1] == 0 ? [.. starts] : [];
    }

    private static bool IsGlibc()
    {
        try
        {
            return gnu_get_libc_version() != IntPtr.Zero;
        }
        catch (EntryPointNotFoundException)
        {
            return false;   // musl (Alpine) and others: glibc's tunables mean nothing there
        }
        catch (DllNotFoundException)
        {
            return false;
        }
    }

    [DllImport("libc", SetLastError = true)]
    private static extern int setenv(string name, string value, int overwrite);

    [DllImport("libc", SetLastError = true)]
    private static extern int unsetenv(string name);

    [DllImport("libc", SetLastError = true)]
    private static extern int execv(string path, IntPtr[] argv);

    [DllImport("libc")]
    private static extern IntPtr gnu_get_libc_version();
}
