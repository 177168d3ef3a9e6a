using Grpo.GpuCheck;

return CheckProgram.Run(args, Console.Out);
