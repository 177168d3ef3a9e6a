using System.CommandLine;
using Grpo.Cli.Serve;

namespace Grpo.Cli;

/// <summary>The tool's commands, in the order help lists them.</summary>
static class Commands
{
    public static IEnumerable<Command> All() => [TrainCommand.Create(), EvalCommand.Create(), GenerateCommand.Create(), TokenizeCommand.Create(), VerifyMathCommand.Create(), VerifyCodeCommand.Create(), ServeCommand.Create()];
}
