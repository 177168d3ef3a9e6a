using Microsoft.Extensions.Logging;
using Spectre.Console;

namespace Grpo.Samples.MathReasoning;

/// <summary>Shows the trainer's warnings (a rollout server dropped mid-run) on the console in yellow; quieter levels are left to the progress bar.</summary>
sealed class WarningLogger : ILogger
{
    public IDisposable? BeginScope<TState>(TState state) where TState : notnull => null;

    public bool IsEnabled(LogLevel logLevel) => logLevel >= LogLevel.Warning;

    public void Log<TState>(LogLevel logLevel, EventId eventId, TState state, Exception? exception, Func<TState, Exception?, string> formatter)
    {
        if (IsEnabled(logLevel)) AnsiConsole.MarkupLine($"[yellow]warning:[/] {Markup.Escape(formatter(state, exception))}");
    }
}
