namespace Grpo.Rewards.Code.Worker;

/// <summary>
/// The worker's own wall-clock limit, on a dedicated thread, behind the pool's: if a program is still running a
/// grace period after its time limit, the worker exits by itself. It matters when the pool cannot kill the
/// worker in time (its process is stopped, or starved on an overloaded machine); normally the pool's kill comes first.
/// </summary>
internal sealed class WorkerWatchdog
{
    /// <summary>The exit code of a worker that its own watchdog ended; the pool reports it as a timeout.</summary>
    public const int TimedOutExitCode = 124; // as timeout(1) reports it

    /// <summary>How long past the program's time limit the watchdog waits for the pool to kill the worker first.</summary>
    public static readonly TimeSpan Grace = TimeSpan.FromSeconds(1);

    readonly object _gate = new(); // a Monitor, not a System.Threading.Lock: the threads wait and pulse on it
    long _deadline = long.MaxValue; // Environment.TickCount64 milliseconds; MaxValue when no program runs

    public WorkerWatchdog() => new Thread(Watch) { IsBackground = true, Name = "grpo-worker-watchdog" }.Start();

    /// <summary>Starts the clock for a program that may run for <paramref name="timeLimit"/>.</summary>
    public void Arm(TimeSpan timeLimit)
    {
        lock (_gate)
        {
            _deadline = Environment.TickCount64 + (long)Math.Ceiling((timeLimit + Grace).TotalMilliseconds);
            Monitor.Pulse(_gate);
        }
    }

    /// <summary>Stops the clock: the program finished.</summary>
    public void Disarm()
    {
        lock (_gate)
        {
            _deadline = long.MaxValue;
            Monitor.Pulse(_gate);
        }
    }

    void Watch()
    {
        lock (_gate)
        {
            while (true)
            {
                long left = _deadline - Environment.TickCount64;
                if (left <= 0)
                    ImmediateExit.Now(TimedOutExitCode);
                Monitor.Wait(_gate, _deadline == long.MaxValue ? Timeout.Infinite : (int)Math.Min(left, int.MaxValue));
            }
        }
    }
}
