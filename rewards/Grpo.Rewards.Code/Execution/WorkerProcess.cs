using System.Diagnostics;
using System.Text;
using Grpo.Rewards.Code.Worker;

namespace Grpo.Rewards.Code.Execution;

/// <summary>How a worker's run of one request ended.</summary>
internal enum WorkerOutcome
{
    /// <summary>Every method replied; the worker can take the next program.</summary>
    Finished,
    /// <summary>The worker replied and then exits of its own accord (its heap or stack ran out).</summary>
    Retiring,
    /// <summary>The process ended mid-program (Environment.Exit, stack overflow, FailFast) or broke the protocol.</summary>
    Died,
    /// <summary>The program ran past its time limit; the process was killed.</summary>
    TimedOut,
    /// <summary>The request could not be sent: the process was already gone. Not the program's fault.</summary>
    Unreachable,
}

/// <summary>
/// One worker process seen from the pool: start it, send it a program, read its replies under a deadline, and
/// kill it (with its whole process tree) when the deadline passes. Each worker has its own temporary folder,
/// deleted with it.
/// </summary>
internal sealed class WorkerProcess : IDisposable
{
    const int StderrKeptChars = 2000;
    static readonly TimeSpan StartTimeout = TimeSpan.FromSeconds(60);

    readonly Process _process;
    readonly string _directory;
    readonly StringBuilder _stderr = new(); // the start of what the runtime printed while the current request ran

    WorkerProcess(Process process, string directory)
    {
        _process = process;
        _directory = directory;
    }

    /// <summary>Programs this worker has run.</summary>
    public int ProgramsRun { get; private set; }

    /// <summary>Whether the process is still running.</summary>
    public bool IsAlive => !_process.HasExited;

    public static async Task<WorkerProcess> StartAsync(WorkerLaunch launch, CancellationToken cancellationToken)
    {
        var directory = Directory.CreateDirectory(Path.Combine(launch.PoolDirectory, "worker-" + Guid.NewGuid().ToString("N"))).FullName;
        var process = new Process { StartInfo = launch.StartInfo(directory) };
        var worker = new WorkerProcess(process, directory);
        process.ErrorDataReceived += (_, e) => worker.KeepStderr(e.Data);
        try
        {
            process.Start();
            process.BeginErrorReadLine();
            var ready = ReadReplyAsync(process.StandardOutput.BaseStream);
            if (await Task.WhenAny(ready, Task.Delay(StartTimeout, cancellationToken)) != ready)
            {
                cancellationToken.ThrowIfCancellationRequested();
                throw new TimeoutException($"A code worker did not start within {StartTimeout.TotalSeconds} s. Is the machine overloaded?");
            }
            if (await ready != WorkerReply.Ready)
                throw new InvalidOperationException($"A code worker failed to start ({process.StartInfo.FileName} {string.Join(' ', process.StartInfo.ArgumentList)}): {worker.ExitDescription()}");
            return worker;
        }
        catch
        {
            worker.Dispose();
            throw;
        }
    }

    /// <summary>
    /// Sends <paramref name="request"/> and passes each reply to <paramref name="onReply"/> until the last method
    /// replies, the worker retires or dies, or <paramref name="timeLimit"/> passes.
    /// </summary>
    public async Task<WorkerOutcome> RunAsync(WorkerRequest request, TimeSpan timeLimit, Action<WorkerReply> onReply, CancellationToken cancellationToken)
    {
        ProgramsRun++;
        lock (_stderr)
            _stderr.Clear();
        try
        {
            await WorkerProtocol.WriteFrameAsync(_process.StandardInput.BaseStream, request.ToBytes(), cancellationToken);
        }
        catch (IOException)
        {
            return WorkerOutcome.Unreachable;
        }

        var replies = ReadRepliesAsync(request, onReply);
        if (await Task.WhenAny(replies, Task.Delay(timeLimit, cancellationToken)) != replies)
        {
            Kill();
            await replies; // ends now that the pipe is closed
            cancellationToken.ThrowIfCancellationRequested();
            return WorkerOutcome.TimedOut;
        }
        var outcome = await replies;
        // The worker's own watchdog got there first (this process was slow to act on its deadline): still a timeout.
        return outcome == WorkerOutcome.Died && ExitCode() == WorkerWatchdog.TimedOutExitCode ? WorkerOutcome.TimedOut : outcome;
    }

    async Task<WorkerOutcome> ReadRepliesAsync(WorkerRequest request, Action<WorkerReply> onReply)
    {
        var stdout = _process.StandardOutput.BaseStream;
        for (int expected = request.FirstMethod; ; expected++)
        {
            var reply = await ReadReplyAsync(stdout);
            // Only the worker knows the nonce; anything else on the pipe means the process is not to be trusted.
            if (reply is null || reply.Nonce != request.Nonce || reply.Method != expected)
                return WorkerOutcome.Died;
            onReply(reply);
            if (reply.Retiring)
                return WorkerOutcome.Retiring;
            if (reply.Method == request.Methods.Count - 1)
                return WorkerOutcome.Finished;
        }
    }

    static async Task<WorkerReply?> ReadReplyAsync(Stream stdout)
    {
        try
        {
            return await WorkerProtocol.ReadFrameAsync(stdout) is { } frame ? WorkerReply.FromBytes(frame) : null;
        }
        catch (Exception e) when (e is IOException or InvalidDataException or EndOfStreamException or ObjectDisposedException)
        {
            return null;
        }
    }

    /// <summary>Why the process ended mid-program, for the completion's reason.</summary>
    public string DeathReason() => "the program ended the worker process " + ExitDescription();

    // The exit code and the first thing the runtime printed (say, "Stack overflow."), once the process is gone.
    string ExitDescription()
    {
        var exitCode = ExitCode();
        var stderr = StderrSummary();
        return $"(exit code {exitCode}){(stderr.Length > 0 ? ": " + stderr : "")}";
    }

    // A worker that broke the protocol may still be running: it is killed first, as it is not to be trusted.
    int ExitCode()
    {
        Kill();
        return _process.ExitCode;
    }

    string StderrSummary()
    {
        lock (_stderr)
        {
            var lines = _stderr.ToString().Split('\n', StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries);
            return string.Join(" ", lines.Take(2));
        }
    }

    void KeepStderr(string? line)
    {
        if (line is null)
            return;
        lock (_stderr)
            if (_stderr.Length < StderrKeptChars)
                _stderr.AppendLine(line.Length > StderrKeptChars ? line[..StderrKeptChars] : line);
    }

    void Kill()
    {
        try
        {
            if (!_process.HasExited)
                _process.Kill(entireProcessTree: true);
            _process.WaitForExit();
        }
        catch (InvalidOperationException)
        {
            // Never started, or already reaped.
        }
    }

    public void Dispose()
    {
        Kill();
        _process.Dispose();
        try
        {
            Directory.Delete(_directory, recursive: true);
        }
        catch (IOException)
        {
            // A folder left behind in the pool's temporary folder is removed with the pool.
        }
    }
}
