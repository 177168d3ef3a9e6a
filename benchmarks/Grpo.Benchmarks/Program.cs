using BenchmarkDotNet.Running;
using Grpo.Benchmarks;
using Grpo.Runtime;

// Harnesses that print a table (their work is too long for BenchmarkDotNet's repeated runs):
//   dotnet run -c Release --project benchmarks/Grpo.Benchmarks -- sampler
//   dotnet run -c Release --project benchmarks/Grpo.Benchmarks -- logprob-memory
//   dotnet run -c Release --project benchmarks/Grpo.Benchmarks -- grpo-step [--quick]   (the README's toy-shape table)
//   dotnet run -c Release --project benchmarks/Grpo.Benchmarks -- grpo-step --shape qwen2.5-0.5b [--quick]   (the real shape, with the PyTorch peer)
//   dotnet run -c Release --project benchmarks/Grpo.Benchmarks -- decode [--threads 1,2]   (decode on the Qwen2.5-0.5B shape)
//   dotnet run -c Release --project benchmarks/Grpo.Benchmarks -- peer [--shape 20m|qwen2.5-0.5b]   (the PyTorch side by side alone)
//   dotnet run -c Release --project benchmarks/Grpo.Benchmarks -- memory-flat [--shape qwen2.5-0.5b] [--default-malloc]   (RSS over 20 steps)
// Micro-benchmarks: every public class with [Benchmark] methods in this assembly.
//   dotnet run -c Release --project benchmarks/Grpo.Benchmarks -- --filter '*'
// Every command measures what the grpo tool and the samples get: glibc's malloc tuned by a restart (GlibcMalloc).
// --default-malloc keeps glibc's defaults; any MALLOC_* variable or glibc.malloc tunable you set wins as well.
ChildProcess.DefaultMalloc = args.Contains(ChildProcess.DefaultMallocFlag);
if (!ChildProcess.DefaultMalloc) GlibcMalloc.Configure();
args = [.. args.Where(a => a != ChildProcess.DefaultMallocFlag)];
switch (args)
{
    case ["sampler", .. var rest]:
        SamplerThroughput.Run(rest);
        return 0;
    case ["logprob-memory", .. var rest]:
        return LogProbMemory.Run(rest);
    case ["decode", .. var rest]:
        return DecodeSpeed.Run(rest);
    case ["peer", .. var rest]:
        return PeerComparison.Run(rest);
    case ["grpo-step", .. var rest]:
        return await GrpoStepBenchmark.Run(rest);
    case ["memory-flat", .. var rest]:
        return await MemoryFlat.Run(rest);
    default:
        BenchmarkSwitcher.FromAssembly(typeof(Program).Assembly).Run(args);
        return 0;
}
