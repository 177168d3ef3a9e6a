namespace Grpo.Rewards.Code.Worker;

/// <summary>
/// The worker's standard input, read on a dedicated thread so that the worker notices its parent's death while a
/// program runs. The pool holds the only write end of the pipe; when the pool's process ends, however it ends
/// (kill -9 included), the kernel closes that end, this thread reads end-of-file and the worker exits at once.
/// </summary>
/// <remarks>
/// Not prctl(PR_SET_PDEATHSIG): it fires when the <i>thread</i> that forked the worker exits, and Process.Start
/// forks from thread-pool threads that retire, so it would kill healthy workers at random.
/// </remarks>
internal sealed class ControlPipe
{
    /// <summary>The exit code of a worker whose parent closed the pipe (it exited, or died).</summary>
    public const int ParentGoneExitCode = 0;

    readonly Stream _input;
    readonly object _gate = new(); // a Monitor, not a System.Threading.Lock: the threads wait and pulse on it
    readonly Queue<byte[]> _frames = new();

    /// <summary>Starts reading <paramref name="input"/>; frames wait in order until <see cref="Take"/> collects them.</summary>
    public ControlPipe(Stream input)
    {
        _input = input;
        new Thread(Read) { IsBackground = true, Name = "grpo-worker-control-pipe" }.Start();
    }

    /// <summary>The next request frame, waiting for it; the process ends instead when the parent goes away.</summary>
    public byte[] Take()
    {
        lock (_gate)
        {
            while (_frames.Count == 0)
                Monitor.Wait(_gate);
            return _frames.Dequeue();
        }
    }

    void Read()
    {
        try
        {
            while (WorkerProtocol.ReadFrame(_input) is { } frame)
                lock (_gate)
                {
                    _frames.Enqueue(frame);
                    Monitor.Pulse(_gate);
                }
        }
        catch (Exception e) when (e is IOException or InvalidDataException or ObjectDisposedException)
        {
            // A broken or garbled pipe means the parent is gone or not to be trusted: end as at end-of-file.
        }
        ImmediateExit.Now(ParentGoneExitCode);
    }
}
