using System.CommandLine;
using Grpo.Samples.MathReasoning;

var root = new RootCommand("The math-reasoning sample: GRPO on arithmetic word problems with a small built-in model.")
{
    PretrainCommand.Create(),
};
return await root.Parse(args).InvokeAsync();
