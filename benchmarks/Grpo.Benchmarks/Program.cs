using BenchmarkDotNet.Running;

// Micro-benchmarks: every public class with [Benchmark] methods in this assembly.
//   dotnet run -c Release --project benchmarks/Grpo.Benchmarks -- --filter '*'
BenchmarkSwitcher.FromAssembly(typeof(Program).Assembly).Run(args);
