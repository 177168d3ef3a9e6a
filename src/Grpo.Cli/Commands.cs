using System.CommandLine;

namespace Grpo.Cli;

/// <summary>The tool's commands, in the order help lists them.</summary>
static class Commands
{
    public static IEnumerable<Command> All() => [TokenizeCommand.Create(), VerifyMathCommand.Create(), VerifyCodeCommand.Create()];
}
