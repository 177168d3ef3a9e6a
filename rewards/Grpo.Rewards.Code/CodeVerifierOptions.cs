namespace Grpo.Rewards.Code;

/// <summary>Limits and choices of a <see cref="CodeVerifier"/>. The defaults suit MBXP-sized problems during training.</summary>
public sealed record CodeVerifierOptions
{
    /// <summary>How the program is taken out of a completion. Default: <see cref="CodeExtraction.PreferFenced"/>.</summary>
    public CodeExtraction Extraction { get; init; } = CodeExtraction.PreferFenced;

    /// <summary>The longest <see cref="Timeout"/> allowed: one day.</summary>
    public static readonly TimeSpan MaxTimeout = TimeSpan.FromDays(1);

    /// <summary>
    /// Wall-clock time one program may run, all its tests together, excluding worker start-up; at most
    /// <see cref="MaxTimeout"/>. Default: 5 s (MBXP reference solutions finish in milliseconds; the slack covers a
    /// loaded machine). The pool kills a worker that overruns it, and the worker ends itself a second later.
    /// </summary>
    public TimeSpan Timeout { get; init; } = TimeSpan.FromSeconds(5);

    /// <summary>The managed heap limit of each worker process, in bytes (<c>DOTNET_GCHeapHardLimit</c>). Default: 512 MiB.</summary>
    public long MemoryLimitBytes { get; init; } = 512L << 20;

    /// <summary>Characters a program may write to the console before it fails with "output limit exceeded". Default: 1 M.</summary>
    public int OutputLimitChars { get; init; } = 1 << 20;

    /// <summary>Worker processes that run programs concurrently. Default: the number of cores.</summary>
    public int Workers { get; init; } = Environment.ProcessorCount;

    /// <summary>Programs one worker runs before it is replaced, bounding what leaks from one program to the next. Default: 500.</summary>
    public int ProgramsPerWorker { get; init; } = 500;

    /// <summary>Results remembered, so that an identical completion (common within a GRPO group) is scored once. Default: 16384.</summary>
    public int CacheSize { get; init; } = 16384;

    /// <summary>
    /// Reject, before running, code that binds to file-system, network, process, reflection, interop, threading or
    /// runtime-control APIs (see <see cref="ApiPolicy"/>). Default: true. Turn off only for trusted code: the
    /// worker's time, memory and output limits still apply, but the code could then touch the machine.
    /// </summary>
    public bool CheckApis { get; init; } = true;

    /// <summary>
    /// Namespaces imported for every program and test (as <c>global using</c>), because models often leave out the
    /// using directives. Default: System, System.Collections.Generic, System.Linq, System.Text.
    /// </summary>
    public IReadOnlyList<string> ImplicitUsings { get; init; } = ["System", "System.Collections.Generic", "System.Linq", "System.Text"];

    internal void Validate()
    {
        if (Timeout <= TimeSpan.Zero || Timeout > MaxTimeout)
            throw new ArgumentOutOfRangeException(nameof(Timeout), Timeout, "The program timeout must be positive and at most one day, e.g. 5 seconds.");
        if (MemoryLimitBytes < 64L << 20)
            throw new ArgumentOutOfRangeException(nameof(MemoryLimitBytes), MemoryLimitBytes, "Give each worker at least 64 MiB; the runtime itself needs some.");
        if (OutputLimitChars < 0)
            throw new ArgumentOutOfRangeException(nameof(OutputLimitChars), OutputLimitChars, "The output limit cannot be negative.");
        if (Workers < 1)
            throw new ArgumentOutOfRangeException(nameof(Workers), Workers, "Use at least one worker process.");
        if (ProgramsPerWorker < 1)
            throw new ArgumentOutOfRangeException(nameof(ProgramsPerWorker), ProgramsPerWorker, "A worker must run at least one program.");
        if (CacheSize < 0)
            throw new ArgumentOutOfRangeException(nameof(CacheSize), CacheSize, "The cache size cannot be negative; 0 turns caching off.");
    }
}
