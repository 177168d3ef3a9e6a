using System.Globalization;
using System.Text.Json;
using Grpo.Data;
using Grpo.Lora;
using Grpo.Modeling;
using Grpo.Rewards.Math;
using Grpo.Runtime;
using Grpo.Training;
using static TorchSharp.torch;

namespace Grpo.Benchmarks;

/// <summary>
/// The memory-flat check of issue 16: the resident size of the process over N small GRPO steps (2 prompts × 4
/// completions × 64 tokens, LoRA r16, β &gt; 0, gradient checkpointing on, on a random model of the benchmarks' small
/// shape with Qwen's 151,936-token vocabulary by default, or of a named shape: <c>--shape qwen2.5-0.5b</c>), with glibc's malloc tuned (<see cref="GlibcMalloc.Configure"/>, what the grpo
/// tool and the sample do) or, with <c>--default-malloc</c>, glibc's defaults (up to 8 arenas per core, a dynamic mmap
/// threshold). EOS is off and every
/// prompt has 32 tokens, so every step does the same work and any growth is the allocator's. It prints each step's
/// peak RSS (sampled every 10 ms) and RSS at its end, and exits 1 when the peaks after the first step (allocator
/// warm-up) spread by more than 5 %.
/// <code>
///   dotnet run -c Release --project benchmarks/Grpo.Benchmarks -- memory-flat [--steps 20] [--shape qwen2.5-0.5b | --layers 8 --vocab 151936] [--threads N] [--default-malloc]
/// </code>
/// </summary>
internal static class MemoryFlat
{
    private const double Tolerance = 0.05;

    public static async Task<int> Run(string[] args)
    {
        int steps = SamplerThroughput.IntArg(args, "--steps") ?? 20;
        var shape = SamplerThroughput.StringArg(args, "--shape");
        int threads = SamplerThroughput.IntArg(args, "--threads") ?? CpuInfo.Current.PhysicalCores;
        set_num_threads(threads);

        var config = shape is null
            ? BenchmarkModels.Small with { VocabSize = SamplerThroughput.IntArg(args, "--vocab") ?? 151_936, NumHiddenLayers = SamplerThroughput.IntArg(args, "--layers") ?? 8 }
            : BenchmarkModels.ByName(shape);
        using var model = CausalLM.Create(config, seed: 0);
        var lora = LoraModel.Apply(model, new LoraOptions { Rank = 16, Alpha = 32 });
        var tokenizer = new IdTokenizer(config.VocabSize);
        var answer = JsonDocument.Parse("\"42\"").RootElement;
        var problems = Enumerable.Range(0, 2 * steps)
            .Select(k => new Problem(string.Join(' ', tokenizer.Prompt(32 + k)[k..]), new Dictionary<string, JsonElement> { ["answer"] = answer }))
            .ToList();
        var output = Directory.CreateTempSubdirectory("grpo-memory-flat-");
        Console.WriteLine($"GLIBC_TUNABLES={Environment.GetEnvironmentVariable("GLIBC_TUNABLES") ?? "(unset)"}, MALLOC_ARENA_MAX={Environment.GetEnvironmentVariable("MALLOC_ARENA_MAX") ?? "(unset)"}, " +
                          $"torch threads {threads}, model {model.ParameterCount / 1e6:F0}M weights ({config.NumHiddenLayers} layers, vocabulary {config.VocabSize:N0}), float32, {steps} steps of 2 prompts x 4 x 64 tokens");
        Console.WriteLine("| step | peak RSS MiB | RSS at end MiB | step s |");
        Console.WriteLine("| ---: | ---: | ---: | ---: |");
        var peaks = new List<double>();
        long peakPages = 0;
        using var stop = new CancellationTokenSource();
        var sampler = Task.Run(async () =>
        {
            while (!stop.IsCancellationRequested)
            {
                var pages = ResidentPages();
                if (pages > Interlocked.Read(ref peakPages)) Interlocked.Exchange(ref peakPages, pages);
                await Task.Delay(10);
            }
        });
        try
        {
            var options = new GrpoOptions
            {
                NumGenerations = 4,
                PromptsPerStep = 2,
                MaxCompletionLength = 64,
                MaxSteps = steps,
                Beta = 0.04,
                LearningRate = 1e-5,
                OutputDir = output.FullName,
                SaveSteps = int.MaxValue,
            };
            using var trainer = new GrpoTrainer(model, tokenizer, [new MathAnswerReward()], options, lora, eosTokenIds: [])
            {
                OnStep = m =>
                {
                    long now = ResidentPages();
                    peaks.Add(MiB(Math.Max(Interlocked.Exchange(ref peakPages, now), now)));
                    Console.WriteLine($"| {m.Step} | {peaks[^1]:F0} | {MiB(now):F0} | {m.StepSeconds:F1} |");
                },
            };
            await trainer.TrainAsync(problems);
        }
        finally
        {
            await stop.CancelAsync();
            await sampler;
            output.Delete(recursive: true);
        }
        var settled = peaks.Skip(1).ToList();
        double spread = (settled.Max() - settled.Min()) / settled.Min();
        Console.WriteLine(string.Create(CultureInfo.InvariantCulture,
            $"peak RSS of steps 2-{steps}: {settled.Min():F0} to {settled.Max():F0} MiB, spread {spread:P1} (limit {Tolerance:P0}); step 2 -> {steps}: {settled[^1] / settled[0] - 1:+0.0%;-0.0%}"));
        return spread <= Tolerance ? 0 : 1;
    }

    /// <summary>Resident pages now: the second field of /proc/self/statm.</summary>
    private static long ResidentPages() =>
        long.Parse(File.ReadAllText("/proc/self/statm").Split(' ')[1], CultureInfo.InvariantCulture);

    private static double MiB(long pages) => pages * (double)Environment.SystemPageSize / (1 << 20);
}
