using System.Runtime.InteropServices;

namespace Grpo.Cli;

/// <summary>
/// SIGINT (Ctrl+C) and SIGTERM as a cancellation token. The first one asks the running command to stop cleanly: a
/// training run finishes or abandons its step, keeps its newest checkpoint and says how to resume. A second one
/// ends the process at once, for a user who will not wait. The exit codes follow the shell's 128 + signal number
/// convention: 130 for SIGINT, 143 for SIGTERM.
/// </summary>
/// <remarks>
/// The commands must not also run under System.CommandLine's own signal handling: its ProcessTerminationTimeout
/// (2 s by default) ends the process that long after the signal, whether or not the command has stopped; turn it
/// off (null) when these signals are in use. Shared by the <c>grpo</c> tool and the MathReasoning sample.
/// </remarks>
sealed class TerminationSignals : IDisposable
{
    /// <summary>Exit code of a process stopped by SIGINT (128 + 2).</summary>
    public const int InterruptExitCode = 130;

    /// <summary>Exit code of a process stopped by SIGTERM (128 + 15).</summary>
    public const int TerminateExitCode = 143;

    readonly CancellationTokenSource _stop = new();
    readonly PosixSignalRegistration[] _registrations;
    int _exitCode;   // 0 until the first signal

    public TerminationSignals() =>
        _registrations = [PosixSignalRegistration.Create(PosixSignal.SIGINT, Handle), PosixSignalRegistration.Create(PosixSignal.SIGTERM, Handle)];

    /// <summary>Cancelled by the first signal.</summary>
    public CancellationToken Token => _stop.Token;

    /// <summary>130 or 143 once a signal has arrived, else null.</summary>
    public int? ExitCode => Volatile.Read(ref _exitCode) is var code and not 0 ? code : null;

    /// <summary>
    /// The process's exit code for a command that returned <paramref name="commandExitCode"/>: the signal's code when
    /// a signal stopped it (the command did not finish), the command's own otherwise, including a command that
    /// completed its work just as the signal came.
    /// </summary>
    public int Resolve(int commandExitCode) => commandExitCode != 0 && ExitCode is { } code ? code : commandExitCode;

    void Handle(PosixSignalContext context)
    {
        // The runtime's default would end the process now, leaving the command no chance to stop cleanly.
        context.Cancel = true;
        int code = context.Signal == PosixSignal.SIGTERM ? TerminateExitCode : InterruptExitCode;
        if (Interlocked.CompareExchange(ref _exitCode, code, 0) != 0)
            ExitNow(code);
        _stop.Cancel();
    }

    /// <summary>
    /// Ends the process this instant. Environment.Exit first waits for the runtime's shutdown work (ProcessExit
    /// handlers, run on the finalizer thread), which a process busy with native tensors can take seconds to reach:
    /// long enough for the clean stop to finish, which is what a second Ctrl+C asks not to wait for.
    /// </summary>
    static void ExitNow(int code)
    {
        if (OperatingSystem.IsWindows()) Environment.Exit(code);
        else ExitImmediately(code);
    }

    [DllImport("libc", EntryPoint = "_exit")]
    static extern void ExitImmediately(int status);

    public void Dispose()
    {
        foreach (var registration in _registrations)
            registration.Dispose();
        _stop.Dispose();
    }
}
