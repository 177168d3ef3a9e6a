using System.CommandLine;
using Grpo.Cli;

// Ctrl+C and SIGTERM cancel the command's token; System.CommandLine's own handling would kill the process 2 s later.
using var signals = new TerminationSignals();
var exitCode = await GrpoTool.RunAsync(args, new InvocationConfiguration { ProcessTerminationTimeout = null }, signals.Token);
return signals.Resolve(exitCode);
