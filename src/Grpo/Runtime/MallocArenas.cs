using System.Runtime.InteropServices;
using System.Text;

namespace Grpo.Runtime;

/// <summary>
/// Keeps glibc's malloc to one arena in this process, so that native memory freed by one thread is reused by the next
/// allocation of any thread. By default glibc gives each thread that allocates its own arena (up to 8 per core), and
/// libtorch's worker threads allocate and free large, differently sized activations in turn: freed pages stay
/// fragmented in arenas their thread may not touch again, and the resident size grows step after step (issue 16: 9.1 to
/// 12.5 GB over 3 GRPO steps; flat with <c>MALLOC_ARENA_MAX=1</c>).
/// </summary>
/// <remarks>
/// <para>glibc reads <c>MALLOC_ARENA_MAX</c> when malloc first runs, long before a .NET program's Main, and by then the
/// runtime's threads have arenas of their own, which a limit set from inside (<c>mallopt</c>) would leave in use. Instead
/// <see cref="UseOneArena"/> sets the variable and replaces the process with a fresh run of the same executable and the
/// same arguments (<c>execv</c> of <c>/proc/self/exe</c> with <c>/proc/self/cmdline</c>). The process id, the parent,
/// the open standard streams and the exit code stay the same, so shells, <c>dotnet run</c>, <c>dotnet tool</c> and
/// process supervisors see one process; only start-up happens twice (tens of milliseconds).</para>
/// <para>It does nothing on other systems, on a C library other than glibc, or when <c>MALLOC_ARENA_MAX</c> (or
/// <c>glibc.malloc.arena_max</c> in <c>GLIBC_TUNABLES</c>) is already set: the user's choice wins, and the re-run
/// process finds the variable set and goes on. Child processes inherit the variable.</para>
/// </remarks>
public static class MallocArenas
{
    /// <summary>The glibc variable that caps the number of malloc arenas.</summary>
    public const string Variable = "MALLOC_ARENA_MAX";

    /// <summary>
    /// Call as the first statement of Main: on Linux with glibc and no arena limit set, restarts the process in place
    /// with <c>MALLOC_ARENA_MAX=1</c> and does not return; otherwise returns at once. Nothing the program did before
    /// the call survives the restart, so call it before any other work (the restart repeats that work).
    /// </summary>
    public static void UseOneArena()
    {
        if (!ShouldRestart(Environment.GetEnvironmentVariable(Variable), Environment.GetEnvironmentVariable("GLIBC_TUNABLES"), OperatingSystem.IsLinux() && IsGlibc()))
            return;
        byte[] cmdline;
        try
        {
            cmdline = File.ReadAllBytes("/proc/self/cmdline");
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException)
        {
            return;   // no /proc: keep glibc's default arenas rather than fail the program
        }
        var starts = ArgumentStarts(cmdline);
        if (starts.Length == 0 || setenv(Variable, "1", 1) != 0) return;
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
        unsetenv(Variable);
    }

    /// <summary>
    /// Whether to restart: glibc, and neither <c>MALLOC_ARENA_MAX</c> (<paramref name="arenaMax"/>) nor a
    /// <c>glibc.malloc.arena_max</c> tunable in <paramref name="glibcTunables"/> is set.
    /// </summary>
    internal static bool ShouldRestart(string? arenaMax, string? glibcTunables, bool glibc) =>
        glibc && arenaMax is null && !(glibcTunables ?? "").Contains("glibc.malloc.arena_max", StringComparison.Ordinal);

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
            return false;   // musl (Alpine) and others: MALLOC_ARENA_MAX means nothing there
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
