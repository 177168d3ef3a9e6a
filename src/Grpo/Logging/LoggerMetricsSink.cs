using System.Text;
using Microsoft.Extensions.Logging;

namespace Grpo.Logging;

/// <summary>
/// Writes a one-line summary of every <c>loggingSteps</c>-th step (TRL's <c>logging_steps</c>) to an
/// <see cref="ILogger"/> at Information level, as a structured message: the numbers are named properties
/// (<c>Step</c>, <c>Reward</c>, <c>RewardStd</c>, <c>Kl</c>, <c>Entropy</c>, <c>CompletionMeanLength</c>,
/// <c>EvalAccuracy</c>, <c>StepTime</c>) that a structured provider keeps as fields, and the text reads
/// <c>step 10, reward 0.425, reward_std 0.310, kl 0.0012, ... step_time 1.98s</c>.
/// </summary>
/// <remarks>
/// A metric the step does not have (<c>kl</c> at β = 0, <c>eval_accuracy</c> off evaluation steps) is left out of the
/// line rather than shown as a blank. A step that carries evaluation metrics (<c>eval_*</c>) is always logged, as
/// Hugging Face's Trainer logs evaluation results whenever they are computed, whatever <c>logging_steps</c> says.
/// </remarks>
public sealed class LoggerMetricsSink : IMetricsSink
{
    private static readonly EventId StepEvent = new(1, "GrpoStep");

    /// <summary>The metrics on the line, in order: TRL's key, then the text with its named, formatted placeholder.</summary>
    private static readonly (string Key, string Text)[] Fields =
    [
        ("reward", "reward {Reward:0.000}"),
        ("reward_std", "reward_std {RewardStd:0.000}"),
        ("kl", "kl {Kl:0.0000}"),
        ("entropy", "entropy {Entropy:0.000}"),
        ("completions/mean_length", "length {CompletionMeanLength:0.0}"),
        ("eval_accuracy", "eval_accuracy {EvalAccuracy:0.000}"),
        ("step_time", "step_time {StepTime:0.00}s"),
    ];

    private readonly ILogger _logger;
    private readonly int _loggingSteps;

    /// <summary>A sink that logs steps whose number is a multiple of <paramref name="loggingSteps"/> (1 logs every step).</summary>
    public LoggerMetricsSink(ILogger logger, int loggingSteps)
    {
        ArgumentNullException.ThrowIfNull(logger);
        if (loggingSteps < 1)
            throw new ArgumentOutOfRangeException(nameof(loggingSteps), loggingSteps, "loggingSteps must be 1 or more (1 logs every step).");
        _logger = logger;
        _loggingSteps = loggingSteps;
    }

    /// <summary>Nothing to prepare: lines already logged cannot be taken back, and a resumed run's lines say their step.</summary>
    public void Open(int startStep) => ArgumentOutOfRangeException.ThrowIfNegative(startStep);

    /// <summary>Logs the step's line when it is due (see the class remarks).</summary>
    public void Write(int step, IReadOnlyDictionary<string, double> metrics)
    {
        ArgumentNullException.ThrowIfNull(metrics);
        var due = step % _loggingSteps == 0 || metrics.Keys.Any(k => k.StartsWith("eval_", StringComparison.Ordinal));
        if (!due || !_logger.IsEnabled(LogLevel.Information)) return;
        // The template is built only from the constant pieces above, so each of its few shapes is a stable message
        // template that structured providers can group on.
        var template = new StringBuilder("step {Step}");
        var values = new List<object?> { step };
        foreach (var (key, text) in Fields)
        {
            if (!metrics.TryGetValue(key, out var value)) continue;
            template.Append(", ").Append(text);
            values.Add(value);
        }
        _logger.Log(LogLevel.Information, StepEvent, template.ToString(), [.. values]);
    }

    /// <summary>Nothing to release: the logger belongs to the caller.</summary>
    public void Dispose()
    {
    }
}
