using System.CommandLine;

namespace Grpo.Cli;

/// <summary>The tool's commands, in the order help lists them.</summary>
static class Commands
{
    public static IEnumerable<Command> All() => [TrainCommand.Create(), EvalCommand.Create(), GenerateCommand.Create(), TokenizeCommand.Create(), VerifyMathCommand.Create(), VerifyCodeCommand.Create()];
}
