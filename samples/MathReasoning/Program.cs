using System.CommandLine;
using Grpo.Cli;
using Grpo.Runtime;
using Grpo.Samples.MathReasoning;

// First, before any work: on Linux the process restarts itself in place with one malloc arena, so native memory
// stays flat from step to step (issue 16); it returns at once when that is already so or does not apply.
MallocArenas.UseOneArena();

// No arguments: GRPO on the built-in model. `pretrain` rebuilds the built-in model.
var root = TrainCommand.Create();
root.Subcommands.Add(PretrainCommand.Create(BuiltInModel.Recipe, PretrainCommand.SourceFolder(typeof(BuiltInModel).Assembly)));

// Ctrl+C and SIGTERM cancel the run's token (the grpo tool's handling); System.CommandLine's own would kill the process 2 s later.
using var signals = new TerminationSignals();
var exitCode = await root.Parse(args).InvokeAsync(new InvocationConfiguration { ProcessTerminationTimeout = null }, signals.Token);
return signals.Resolve(exitCode);
