using BenchmarkDotNet.Running;
using Grpo.Benchmarks;

// Harnesses that print a table (their work is too long for BenchmarkDotNet's repeated runs):
//   dotnet run -c Release --project benchmarks/Grpo.Benchmarks -- sampler
// Micro-benchmarks: every public class with [Benchmark] methods in this assembly.
//   dotnet run -c Release --project benchmarks/Grpo.Benchmarks -- --filter '*'
if (args.Length > 0 && args[0] == "sampler")
    SamplerThroughput.Run(args[1..]);
else
    BenchmarkSwitcher.FromAssembly(typeof(Program).Assembly).Run(args);
