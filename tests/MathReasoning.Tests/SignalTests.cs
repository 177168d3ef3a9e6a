using Grpo.Cli.Tests;

namespace MathReasoning.Tests;

/// <summary>
/// Real SIGINT and SIGTERM sent to the built sample while it trains: it stops with exit code 130 / 143 and one line
/// saying where the unfinished run is, like <c>grpo train</c>.
/// </summary>
/// <remarks>Slow: the sample runs as a child process, whose start-up alone takes seconds.</remarks>
[Trait("Category", "Slow")]
public sealed class SignalTests : IDisposable
{
    readonly SampleRunFolder _run = new();

    public void Dispose() => _run.Dispose();

    [Theory]
    [InlineData("INT", 130)]
    [InlineData("TERM", 143)]
    public async Task A_signal_during_training_stops_the_sample_with_the_signal_s_exit_code_and_one_line(string signal, int expectedExitCode)
    {
        var output = _run.PathOf("run");
        using var sample = CliProcess.Start("MathReasoning.dll", "--model", _run.Model.Path, "--output", output, "--steps", "200", "--prompts-per-step", "2",
            "--group-size", "4", "--max-completion-length", "8", "--eval-count", "4", "--eval-every", "1000");
        await sample.WaitForLineAsync("Held-out accuracy before training");
        sample.Signal(signal);

        Assert.Equal(expectedExitCode, await sample.WaitForExitAsync());
        var line = Assert.Single(sample.Output.Split('\n'), l => l.Contains("Cancelled", StringComparison.Ordinal));
        Assert.Contains($"The unfinished run is in {output}.partial", line);
        Assert.False(Directory.Exists(output));
    }
}
