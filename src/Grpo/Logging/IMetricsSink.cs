namespace Grpo.Logging;

/// <summary>
/// One place a run's metrics go. The run calls <see cref="Open"/> once before its first step in this process, then
/// <see cref="Write"/> once per step (in step order, with TRL's metric names, <c>eval_*</c> keys included on evaluation
/// steps), then <see cref="IDisposable.Dispose"/>.
/// </summary>
public interface IMetricsSink : IDisposable
{
    /// <summary>
    /// Prepares the sink for a run whose last finished step is <paramref name="startStep"/> (0 for a new run; the
    /// checkpoint's step on resume). Anything the sink holds for steps after <paramref name="startStep"/> comes from an
    /// abandoned attempt and must not survive (truncate / purge), so a resumed run logs each step once.
    /// </summary>
    void Open(int startStep);

    /// <summary>Records one finished step's metrics, keyed by TRL's names.</summary>
    void Write(int step, IReadOnlyDictionary<string, double> metrics);
}
