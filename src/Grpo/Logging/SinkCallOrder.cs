namespace Grpo.Logging;

/// <summary>
/// The call order <see cref="IMetricsSink"/> promises, checked for the sinks whose files must stay true across a
/// resume: <c>Open</c> once, then <c>Write</c> with steps that only go up and lie past the resume point. A run that
/// broke the order would leave a log that says two things about one step; failing loudly here names the bug instead.
/// </summary>
internal sealed class SinkCallOrder(string sinkName)
{
    private bool _opened;
    private int _lastStep;

    /// <summary>Records <c>Open(startStep)</c>; after it, a new run (0) may write step 0 (TRL's <c>eval_on_start</c>), a resumed one only later steps.</summary>
    public void Open(int startStep)
    {
        ArgumentOutOfRangeException.ThrowIfNegative(startStep);
        if (_opened) throw new InvalidOperationException($"{sinkName} is already open; create one sink per run and call Open once.");
        _opened = true;
        _lastStep = startStep == 0 ? -1 : startStep;
    }

    /// <summary>Checks one <c>Write</c> before anything reaches the file.</summary>
    public void Next(int step, IReadOnlyDictionary<string, double> metrics)
    {
        ArgumentNullException.ThrowIfNull(metrics);
        if (!_opened) throw new InvalidOperationException($"{sinkName}: call Open(startStep) before Write.");
        if (step <= _lastStep)
            throw new ArgumentOutOfRangeException(nameof(step), step,
                $"{sinkName}: step {step} is not after step {_lastStep}, the last one it holds; write each step once, in order.");
        // GrpoStepMetrics.ToDictionary carries the step too; a disagreeing copy would put two steps on one record.
        if (metrics.TryGetValue(StepKey, out var inMetrics) && inMetrics != step)
            throw new ArgumentException($"{sinkName}: metrics[\"step\"] is {inMetrics} but the step written is {step}; pass the same step.", nameof(metrics));
        _lastStep = step;
    }

    /// <summary>The key that holds the step in a metrics dictionary; sinks write the step once, from <c>Write</c>'s argument.</summary>
    public const string StepKey = "step";
}
