using System.Diagnostics;

namespace Grpo.Cli.Tests;

/// <summary>
/// A built command-line program run as a child process (<c>dotnet Grpo.Cli.dll ARGS</c>, from the test's output
/// folder), for what only a real process shows: signals, exit codes, what reaches stderr. Shared with the
/// MathReasoning sample's tests.
/// </summary>
sealed class CliProcess : IDisposable
{
    readonly Process _process;
    readonly List<string> _output = [];
    readonly System.Text.StringBuilder _error = new();
    readonly List<(string Prefix, TaskCompletionSource Seen)> _waits = [];

    bool _disposed;

    CliProcess(Process process) => _process = process;

    /// <summary>Starts <c>dotnet ASSEMBLY ARGS</c> with SIGINT at its default disposition.</summary>
    /// <param name="assembly">The program's file name in the test's output folder, e.g. Grpo.Cli.dll.</param>
    /// <param name="args">Its arguments.</param>
    public static CliProcess Start(string assembly, params string[] args)
    {
        // A shell starts background jobs with SIGINT ignored and a child inherits that, which would make Ctrl+C a
        // no-op whatever the tool does; env resets it, as an interactive terminal would have it.
        var start = new ProcessStartInfo("env") { RedirectStandardOutput = true, RedirectStandardError = true };
        foreach (var argument in new[] { "--default-signal=INT", Environment.GetEnvironmentVariable("DOTNET_HOST_PATH") ?? "dotnet", Path.Combine(AppContext.BaseDirectory, assembly) }.Concat(args))
            start.ArgumentList.Add(argument);
        var cli = new CliProcess(new Process { StartInfo = start });
        cli._process.OutputDataReceived += (_, line) => cli.OnOutput(line.Data);
        cli._process.ErrorDataReceived += (_, line) => { lock (cli._error) if (line.Data is not null) cli._error.AppendLine(line.Data); };
        cli._process.Start();
        cli._process.BeginOutputReadLine();
        cli._process.BeginErrorReadLine();
        return cli;
    }

    void OnOutput(string? line)
    {
        if (line is null) return;
        lock (_output)
        {
            _output.Add(line);
            foreach (var (prefix, seen) in _waits)
                if (line.StartsWith(prefix, StringComparison.Ordinal)) seen.TrySetResult();
        }
    }

    /// <summary>Waits until a stdout line starts with <paramref name="prefix"/>; fails after <paramref name="seconds"/> or when the process ends first.</summary>
    public async Task WaitForLineAsync(string prefix, double seconds = 60)
    {
        var seen = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
        lock (_output)
        {
            if (_output.Any(line => line.StartsWith(prefix, StringComparison.Ordinal))) return;
            _waits.Add((prefix, seen));
        }
        var ended = _process.WaitForExitAsync();
        var first = await Task.WhenAny(seen.Task, ended, Task.Delay(TimeSpan.FromSeconds(seconds)));
        Assert.True(first == seen.Task, $"no line starting with '{prefix}' (exited: {_process.HasExited}); stdout:\n{Output}\nstderr:\n{Error}");
    }

    /// <summary>Sends a signal by name (INT, TERM) with kill(1).</summary>
    public void Signal(string name)
    {
        using var kill = Process.Start("kill", ["-" + name, _process.Id.ToString(System.Globalization.CultureInfo.InvariantCulture)])!;
        kill.WaitForExit();
        Assert.Equal(0, kill.ExitCode);
    }

    /// <summary>Waits for the exit (failing after <paramref name="seconds"/>); returns the exit code.</summary>
    public async Task<int> WaitForExitAsync(double seconds = 60)
    {
        using var timeout = new CancellationTokenSource(TimeSpan.FromSeconds(seconds));
        try
        {
            await _process.WaitForExitAsync(timeout.Token);
        }
        catch (OperationCanceledException)
        {
            Assert.Fail($"still running after {seconds} s; stdout:\n{Output}\nstderr:\n{Error}");
        }
        _process.WaitForExit();   // drains the redirected streams
        return _process.ExitCode;
    }

    public string Output { get { lock (_output) return string.Join('\n', _output); } }

    public string Error { get { lock (_error) return _error.ToString(); } }

    /// <summary>Kills the process if it still runs; idempotent, so a test can kill it mid-way and still dispose it.</summary>
    public void Dispose()
    {
        if (_disposed) return;
        _disposed = true;
        if (!_process.HasExited) _process.Kill(entireProcessTree: true);
        _process.Dispose();
    }
}
