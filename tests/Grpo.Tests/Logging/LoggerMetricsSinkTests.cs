using Grpo.Logging;
using Microsoft.Extensions.Logging;

namespace Grpo.Tests.Logging;

public sealed class LoggerMetricsSinkTests
{
    /// <summary>Keeps what a structured provider would see: the rendered text and the named values.</summary>
    private sealed class CollectingLogger : ILogger
    {
        public List<(LogLevel Level, string Message, Dictionary<string, object?> Values)> Entries { get; } = [];

        public IDisposable? BeginScope<TState>(TState state) where TState : notnull => null;
        public bool IsEnabled(LogLevel logLevel) => true;

        public void Log<TState>(LogLevel logLevel, EventId eventId, TState state, Exception? exception, Func<TState, Exception?, string> formatter)
        {
            var values = state is IEnumerable<KeyValuePair<string, object?>> pairs ? pairs.ToDictionary() : [];
            Entries.Add((logLevel, formatter(state, exception), values));
        }
    }

    private static Dictionary<string, double> Step(double reward) => new()
    {
        ["reward"] = reward, ["reward_std"] = 0.25, ["kl"] = 0.00123, ["entropy"] = 1.2344, ["loss"] = 9,
        ["completions/mean_length"] = 12.46, ["step_time"] = 1.984,
    };

    [Fact]
    public void LogsEveryLoggingStepsThStepWithTheKeyNumbers()
    {
        var logger = new CollectingLogger();
        using var sink = new LoggerMetricsSink(logger, loggingSteps: 2);
        sink.Open(0);
        for (var step = 1; step <= 4; step++) sink.Write(step, Step(step / 8.0));

        Assert.Equal(2, logger.Entries.Count);
        var (level, message, values) = logger.Entries[0];
        Assert.Equal(LogLevel.Information, level);
        Assert.Equal("step 2, reward 0.250, reward_std 0.250, kl 0.0012, entropy 1.234, length 12.5, step_time 1.98s", message);
        Assert.Equal(2, values["Step"]);
        Assert.Equal(0.25, values["Reward"]);
        Assert.Equal(0.00123, values["Kl"]);
        Assert.Equal(12.46, values["CompletionMeanLength"]);
        Assert.StartsWith("step {Step}, reward {Reward:0.000}", (string)values["{OriginalFormat}"]!);
        Assert.StartsWith("step 4, reward 0.500,", logger.Entries[1].Message);
    }

    [Fact]
    public void LeavesOutMetricsTheStepDoesNotHaveAndAlwaysLogsEvaluationSteps()
    {
        var logger = new CollectingLogger();
        using var sink = new LoggerMetricsSink(logger, loggingSteps: 10);
        sink.Open(0);
        sink.Write(3, new Dictionary<string, double> { ["reward"] = 1, ["eval_accuracy"] = 0.75, ["eval_reward"] = 0.5 });
        sink.Write(4, new Dictionary<string, double> { ["reward"] = 1 });

        var (_, message, values) = Assert.Single(logger.Entries);
        Assert.Equal("step 3, reward 1.000, eval_accuracy 0.750", message);
        Assert.False(values.ContainsKey("Kl"));
        Assert.Equal(0.75, values["EvalAccuracy"]);
    }

    [Fact]
    public void RefusesLoggingStepsBelowOne()
    {
        var error = Assert.Throws<ArgumentOutOfRangeException>(() => new LoggerMetricsSink(new CollectingLogger(), 0));
        Assert.Contains("loggingSteps must be 1 or more", error.Message);
    }
}
