using System.Text.Json;
using Grpo.Sampling.Server;
using Grpo.Training;

namespace Grpo.Cli;

/// <summary>
/// Turns the failures a command can expect (missing files, bad data, bad option values, a diverged run, rollout
/// servers that refuse or are gone, Ctrl+C or SIGTERM) into one line on stderr and a non-zero exit code, instead of a
/// stack trace. Anything else is a bug and still surfaces.
/// </summary>
static class CommandErrors
{
    /// <summary>
    /// Exit code of a command stopped by its cancellation token (128 + SIGINT, as shells report Ctrl+C); the process
    /// turns it into 143 when SIGTERM was the cause (<see cref="TerminationSignals.Resolve"/>).
    /// </summary>
    public const int Cancelled = TerminationSignals.InterruptExitCode;

    public static async Task<int> RunAsync(string command, TextWriter error, Func<Task<int>> body)
    {
        try
        {
            return await body();
        }
        catch (OperationCanceledException)
        {
            await error.WriteLineAsync($"grpo {command}: stopped before it finished; nothing more was written.");
            return Cancelled;
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException or InvalidDataException or JsonException
                                       or ArgumentException or InvalidOperationException or GrpoTrainingException
                                       or RolloutServerException)
        {
            // One line: ArgumentOutOfRangeException puts "Actual value was ..." on a second one.
            await error.WriteLineAsync($"grpo {command}: {e.Message.Split('\n')[0].Trim()}");
            return 1;
        }
    }
}
