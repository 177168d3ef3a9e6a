using System.Collections.Concurrent;
using System.Diagnostics;
using System.Security.Cryptography;
using Grpo.Rewards.Code.Compilation;
using Grpo.Rewards.Code.Worker;

namespace Grpo.Rewards.Code.Execution;

/// <summary>
/// A fixed number of reusable worker processes. A program takes a free worker, runs with a wall-clock budget, and
/// gives the worker back; a worker that died, timed out or ran its quota is replaced by a fresh one on demand.
/// A list of tests that crashes its worker resumes after the crashing test in a new worker, within the same budget.
/// Workers die with the pool's process however it ends (see <see cref="Worker.ControlPipe"/>), and the folder of a
/// pool whose process was killed is removed by the next pool (<see cref="PoolFolder"/>).
/// </summary>
internal sealed class WorkerPool : IDisposable
{
    const int MaxUnreachableRetries = 3;

    readonly CodeVerifierOptions _options;
    readonly PoolFolder _folder;
    readonly WorkerLaunch _launch;
    readonly SemaphoreSlim _slots;
    readonly ConcurrentBag<WorkerProcess> _idle = [];
    volatile bool _disposed;

    /// <summary>Prepares a pool whose folder goes under <paramref name="temporaryRoot"/>; no worker starts yet.</summary>
    public WorkerPool(CodeVerifierOptions options, string temporaryRoot)
    {
        _options = options;
        _slots = new SemaphoreSlim(options.Workers, options.Workers);
        _folder = PoolFolder.Create(temporaryRoot);
        try
        {
            _launch = new WorkerLaunch(_folder.Path, options.MemoryLimitBytes);
        }
        catch
        {
            _folder.Dispose();
            throw;
        }
    }

    /// <summary>The pool's temporary folder.</summary>
    public string FolderPath => _folder.Path;

    /// <summary>Runs a compiled program's tests and scores them.</summary>
    public async Task<CodeResult> RunAsync(CompiledProgram program, CancellationToken cancellationToken)
    {
        ObjectDisposedException.ThrowIf(_disposed, this);
        await _slots.WaitAsync(cancellationToken);
        try
        {
            return await RunHeldAsync(program, cancellationToken);
        }
        finally
        {
            _slots.Release();
        }
    }

    async Task<CodeResult> RunHeldAsync(CompiledProgram program, CancellationToken cancellationToken)
    {
        int count = program.Methods.Count;
        var failures = new string?[count]; // null: passed
        var remaining = _options.Timeout;
        int next = 0, unreachable = 0;
        while (next < count)
        {
            if (remaining <= TimeSpan.Zero)
            {
                for (int i = next; i < count; i++)
                    failures[i] = $"not run: the program used its {_options.Timeout.TotalSeconds:0.###} s";
                break;
            }
            var worker = await RentAsync(cancellationToken);
            var request = new WorkerRequest(Convert.ToHexString(RandomNumberGenerator.GetBytes(16)), program.Image!,
                program.EntryType, program.Methods, next, _options.OutputLimitChars, remaining);
            int running = next; // the method in progress: one past the last reply
            var clock = Stopwatch.StartNew();
            WorkerOutcome outcome;
            try
            {
                outcome = await worker.RunAsync(request, remaining, reply =>
                {
                    failures[reply.Method] = reply.Passed ? null : reply.Message;
                    running = reply.Method + 1;
                }, cancellationToken);
            }
            catch
            {
                worker.Dispose();
                throw;
            }
            remaining -= clock.Elapsed;

            switch (outcome)
            {
                case WorkerOutcome.Finished:
                    Return(worker);
                    next = count;
                    break;
                case WorkerOutcome.Retiring:
                    worker.Dispose();
                    next = running;
                    break;
                case WorkerOutcome.TimedOut:
                    worker.Dispose();
                    failures[running] = $"timed out after {_options.Timeout.TotalSeconds:0.###} s";
                    next = running + 1;
                    remaining = TimeSpan.Zero;
                    break;
                case WorkerOutcome.Died:
                    failures[running] = worker.DeathReason();
                    worker.Dispose();
                    next = running + 1;
                    break;
                case WorkerOutcome.Unreachable:
                    worker.Dispose();
                    if (++unreachable > MaxUnreachableRetries)
                        throw new InvalidOperationException($"Code workers exit before they take a program ({unreachable} in a row). The machine may be out of memory or processes.");
                    break;
            }
        }
        return Score(failures);
    }

    static CodeResult Score(string?[] failures)
    {
        int passed = failures.Count(f => f is null);
        int total = failures.Length;
        if (passed == total)
            return new CodeResult(1, total == 1 ? "passed" : $"all {total} tests passed", true, passed, total);
        int first = Array.FindIndex(failures, f => f is not null);
        var reason = total == 1 ? failures[0]! : $"{passed} of {total} tests passed; test {first} failed: {failures[first]}";
        return new CodeResult((double)passed / total, reason, true, passed, total);
    }

    async Task<WorkerProcess> RentAsync(CancellationToken cancellationToken)
    {
        while (_idle.TryTake(out var worker))
        {
            if (worker.IsAlive)
                return worker;
            worker.Dispose();
        }
        return await WorkerProcess.StartAsync(_launch, cancellationToken);
    }

    void Return(WorkerProcess worker)
    {
        if (_disposed || worker.ProgramsRun >= _options.ProgramsPerWorker)
            worker.Dispose();
        else
            _idle.Add(worker);
    }

    public void Dispose()
    {
        if (_disposed)
            return;
        _disposed = true;
        while (_idle.TryTake(out var worker))
            worker.Dispose();
        _folder.Dispose();
    }
}
