using System.CommandLine;

namespace Grpo.Cli.Tests;

/// <summary>Runs the grpo tool in-process, as Program.cs does, and captures what it prints.</summary>
static class Cli
{
    public static async Task<(int ExitCode, string Output, string Error)> RunAsync(string[] args, TextWriter? output = null, CancellationToken cancellationToken = default)
    {
        var root = new RootCommand();
        foreach (var command in Commands.All())
            root.Subcommands.Add(command);
        output ??= new StringWriter();
        var error = new StringWriter();
        var exitCode = await root.Parse(args).InvokeAsync(new InvocationConfiguration { Output = output, Error = error }, cancellationToken);
        return (exitCode, output.ToString()!, error.ToString());
    }

    public static Task<(int ExitCode, string Output, string Error)> RunAsync(params string[] args) => RunAsync(args, null);
}
