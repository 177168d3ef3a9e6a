using System.CommandLine;
using Grpo.Cli;
using Grpo.Runtime;

// First, before any work: on Linux the process restarts itself in place with one malloc arena, so native memory
// stays flat from step to step (issue 16); it returns at once when that is already so or does not apply.
MallocArenas.UseOneArena();

// Ctrl+C and SIGTERM cancel the command's token; System.CommandLine's own handling would kill the process 2 s later.
using var signals = new TerminationSignals();
var exitCode = await GrpoTool.RunAsync(args, new InvocationConfiguration { ProcessTerminationTimeout = null }, signals.Token);
return signals.Resolve(exitCode);
