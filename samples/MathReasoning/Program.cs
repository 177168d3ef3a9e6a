using Grpo.Samples.MathReasoning;

// No arguments: GRPO on the built-in model. `pretrain` rebuilds the built-in model.
var root = TrainCommand.Create();
root.Subcommands.Add(PretrainCommand.Create());
return await root.Parse(args).InvokeAsync();
