using System.CommandLine;
using Grpo.Cli;
using Grpo.Runtime;

// First, before any work: on Linux the process restarts itself in place with glibc's malloc tuned for libtorch (one
// arena, a fixed mmap threshold), so native memory stays flat from step to step and freed activations go back to the
// system (issue 16); it returns at once when that is already so or does not apply.
GlibcMalloc.Configure();

// Ctrl+C and SIGTERM cancel the command's token; System.CommandLine's own handling would kill the process 2 s later.
using var signals = new TerminationSignals();
var exitCode = await GrpoTool.RunAsync(args, new InvocationConfiguration { ProcessTerminationTimeout = null }, signals.Token);
return signals.Resolve(exitCode);
