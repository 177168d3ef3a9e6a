using BenchmarkDotNet.Running;

// Peak memory of the chunked log-probs against the naive ones, a process per variant:
//   dotnet run -c Release --project benchmarks/Grpo.Benchmarks -- logprob-memory
if (args is ["logprob-memory", .. var rest]) return LogProbMemory.Run(rest);

// Micro-benchmarks: every public class with [Benchmark] methods in this assembly.
//   dotnet run -c Release --project benchmarks/Grpo.Benchmarks -- --filter '*'
BenchmarkSwitcher.FromAssembly(typeof(Program).Assembly).Run(args);
return 0;
