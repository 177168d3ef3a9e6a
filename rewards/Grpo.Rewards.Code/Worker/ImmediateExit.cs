using System.Runtime.InteropServices;

namespace Grpo.Rewards.Code.Worker;

/// <summary>
/// Ends the worker process at once, from any thread, whatever the program on the main thread is doing. On Linux
/// and macOS this is <c>_exit</c>: no managed shutdown, so a program spinning in a loop or one that hooked
/// <c>AppDomain.ProcessExit</c> (possible with the API check off) cannot delay it.
/// </summary>
internal static class ImmediateExit
{
    [DllImport("libc", EntryPoint = "_exit")]
    static extern void Exit(int status);

    public static void Now(int exitCode)
    {
        if (OperatingSystem.IsLinux() || OperatingSystem.IsMacOS())
            Exit(exitCode);
        else
            Environment.Exit(exitCode);
    }
}
