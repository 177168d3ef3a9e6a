using Microsoft.Extensions.Logging;

namespace Grpo.Cli;

/// <summary>
/// Writes warnings and errors the library logs (a rollout server dropped mid-run) to the tool's error stream, one
/// line each, prefixed with the command; quieter levels are left out, since the tool prints its own step lines.
/// </summary>
sealed class WarningLogger(TextWriter error, string command) : ILogger
{
    public IDisposable? BeginScope<TState>(TState state) where TState : notnull => null;

    public bool IsEnabled(LogLevel logLevel) => logLevel >= LogLevel.Warning;

    public void Log<TState>(LogLevel logLevel, EventId eventId, TState state, Exception? exception, Func<TState, Exception?, string> formatter)
    {
        if (!IsEnabled(logLevel)) return;
        lock (error) error.WriteLine($"grpo {command}: {(logLevel == LogLevel.Warning ? "warning" : "error")}: {formatter(state, exception)}");
    }
}
