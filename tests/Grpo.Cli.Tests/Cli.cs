using System.CommandLine;

namespace Grpo.Cli.Tests;

/// <summary>Runs the grpo tool in-process, as Program.cs does, and captures what it prints.</summary>
static class Cli
{
    public static async Task<(int ExitCode, string Output, string Error)> RunAsync(string[] args, TextWriter? output = null, CancellationToken cancellationToken = default)
    {
        output ??= new StringWriter();
        var error = new StringWriter();
        var exitCode = await GrpoTool.RunAsync(args, new InvocationConfiguration { Output = output, Error = error, ProcessTerminationTimeout = null }, cancellationToken);
        return (exitCode, output.ToString()!, error.ToString());
    }

    public static Task<(int ExitCode, string Output, string Error)> RunAsync(params string[] args) => RunAsync(args, null);
}
