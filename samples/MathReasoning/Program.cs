using System.CommandLine;
using Grpo.Cli;
using Grpo.Samples.MathReasoning;

// No arguments: GRPO on the built-in model. `pretrain` rebuilds the built-in model.
var root = TrainCommand.Create();
root.Subcommands.Add(PretrainCommand.Create());

// Ctrl+C and SIGTERM cancel the run's token (the grpo tool's handling); System.CommandLine's own would kill the process 2 s later.
using var signals = new TerminationSignals();
var exitCode = await root.Parse(args).InvokeAsync(new InvocationConfiguration { ProcessTerminationTimeout = null }, signals.Token);
return signals.Resolve(exitCode);
