using System.CommandLine;
using Grpo.Cli;
using Grpo.Runtime;
using Grpo.Samples.MathReasoning;

// First, before any work: on Linux the process restarts itself in place with glibc's malloc tuned for libtorch (one
// arena, a fixed mmap threshold), so native memory stays flat from step to step and freed activations go back to the
// system (issue 16); it returns at once when that is already so or does not apply.
GlibcMalloc.Configure();

// No arguments: GRPO on the built-in model. `pretrain` rebuilds the built-in model.
var root = TrainCommand.Create();
root.Subcommands.Add(PretrainCommand.Create(BuiltInModel.Recipe, PretrainCommand.SourceFolder(typeof(BuiltInModel).Assembly)));

// Ctrl+C and SIGTERM cancel the run's token (the grpo tool's handling); System.CommandLine's own would kill the process 2 s later.
using var signals = new TerminationSignals();
var exitCode = await root.Parse(args).InvokeAsync(new InvocationConfiguration { ProcessTerminationTimeout = null }, signals.Token);
return signals.Resolve(exitCode);
