using System.CommandLine;
using Grpo.Cli;
using Grpo.Runtime;
using Grpo.Samples.MathReasoning;
using Grpo.Samples.ToolCalling;

// First, before any work: on Linux the process restarts itself in place with one malloc arena (issue 16).
GlibcMalloc.Configure();

// No arguments: GRPO on the tool sample's built-in model with the calculator. `pretrain` rebuilds that model.
var root = TrainCommand.Create(ToolModel.TrainDefaults,
    "GRPO with a calculator tool: the small built-in model, which mostly answers arithmetic word problems in its head, " +
    "may call `calculate`; the maths reward alone teaches it when that pays. Shows held-out accuracy and tool-call rate before and after.");
root.Subcommands.Add(PretrainCommand.Create(ToolModel.Recipe, PretrainCommand.SourceFolder(typeof(ToolModel).Assembly)));

// Ctrl+C and SIGTERM cancel the run's token (the grpo tool's handling); System.CommandLine's own would kill the process 2 s later.
using var signals = new TerminationSignals();
var exitCode = await root.Parse(args).InvokeAsync(new InvocationConfiguration { ProcessTerminationTimeout = null }, signals.Token);
return signals.Resolve(exitCode);
