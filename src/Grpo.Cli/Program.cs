using System.CommandLine;
using Grpo.Cli;

// Each command lives in its own file and builds its own System.CommandLine command.
var root = new RootCommand("grpo: GRPO fine-tuning with verifiable rewards, on JSONL files.");
foreach (var command in Commands.All())
    root.Subcommands.Add(command);
return await root.Parse(args).InvokeAsync();
