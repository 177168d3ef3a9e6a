using System.Runtime.InteropServices;

namespace Grpo.Rewards.Code.Worker;

/// <summary>
/// Kernel limits the worker puts on itself at start-up, on Linux and macOS, as a second line behind the API check:
/// it may not write to any file (the kernel ends it instead), and a crash leaves no core dump behind.
/// </summary>
/// <remarks>Memory is capped by the runtime (DOTNET_GCHeapHardLimit, set by the pool): RLIMIT_AS does not suit .NET, which reserves far more address space than it uses.</remarks>
internal static class ProcessLimits
{
    const int RlimitFsize = 1; // same value on Linux and macOS
    const int RlimitCore = 4;

    [StructLayout(LayoutKind.Sequential)]
    struct RLimit
    {
        public ulong Current;
        public ulong Maximum;
    }

    [DllImport("libc", EntryPoint = "setrlimit", SetLastError = true)]
    static extern int SetRLimit(int resource, ref RLimit limit);

    public static void Apply()
    {
        if (!OperatingSystem.IsLinux() && !OperatingSystem.IsMacOS())
            return;
        foreach (var resource in new[] { RlimitFsize, RlimitCore })
        {
            var zero = new RLimit();
            if (SetRLimit(resource, ref zero) != 0)
                throw new InvalidOperationException($"setrlimit({resource}) failed with errno {Marshal.GetLastPInvokeError()}.");
        }
    }
}
