using System.Diagnostics;
using System.Globalization;
using Grpo.Modeling;
using Grpo.Sampling;
using Grpo.Training;
using static TorchSharp.torch;

namespace Grpo.Benchmarks;

/// <summary>
/// One command that measures a GRPO step against this machine's limits and prints one markdown table for the README:
/// the ceilings (matmul FLOP/s, memory bandwidth), training throughput and model FLOPs utilisation, sampling against
/// its bandwidth and compute bounds and against naive generation, chunked against naive log-probs, a full
/// <see cref="GrpoTrainer"/> step broken into its parts, and how step time grows with G, completion length and model
/// size. Every figure is a ratio or stands next to its ceiling, so it carries over to another machine.
/// <code>
///   dotnet run -c Release --project benchmarks/Grpo.Benchmarks -- grpo-step [--quick] [--threads N]
/// </code>
/// With <c>--shape qwen2.5-0.5b</c> it measures the real shape instead (<see cref="RealShapeBenchmark"/>). Where
/// python3 has torch, both end with the same work in plain PyTorch (<see cref="PeerComparison"/>).
/// Torch threads default to 1: on a shared machine more threads mostly measure the neighbours.
/// </summary>
internal static class GrpoStepBenchmark
{
    private const int LoraRank = GrpoStepTimings.LoraRank;
    private const int Prompt = GrpoStepTimings.PromptLength;

    /// <summary>The sizes of one run; <see cref="Quick"/> is a smoke run of every section in a minute or two.</summary>
    private sealed record Plan(
        int[] MatmulSizes, int MatmulRepeats, long CopyBytes,
        int TrainRows, int TrainCompletion, int TrainRepeats,
        int SampleTokens, int SampleRepeats, int NaiveTokens,
        string[] LogProbSizes,
        int StepGenerations, int StepCompletion, int StepSteps, int GrowthSteps, PeerComparison.Sizes Peer)
    {
        public static readonly Plan Full = new([256, 512, 1024], 10, 256L << 20, 8, 96, 3, 256, 3, 64, ["8", "512", "256", "32000"], 8, 64, 3, 3,
            new PeerComparison.Sizes(8, 32, 96, 8, 64, 8, 128));
        public static readonly Plan Quick = new([128, 256], 2, 64L << 20, 2, 32, 1, 32, 1, 16, ["2", "128", "256", "32000"], 4, 32, 2, 2,
            new PeerComparison.Sizes(2, 32, 16, 4, 8, 2, 32));
    }

    public static async Task<int> Run(string[] args, CancellationToken cancellationToken = default)
    {
        if (IsolatedStep.IsChild(args)) return await IsolatedStep.Child(args);
        if (SamplerThroughput.StringArg(args, "--shape") is { } shapeName)
            return await RealShapeBenchmark.Run(shapeName, args, cancellationToken);
        var plan = args.Contains("--quick") ? Plan.Quick : Plan.Full;
        int threads = SamplerThroughput.IntArg(args, "--threads") ?? 1;
        set_num_threads(threads);
        Environment.SetEnvironmentVariable("OMP_NUM_THREADS", $"{threads}");   // inherited by the log-prob child processes
        var table = new ResultTable();
        var Row = table.Row;

        // 1. Ceilings.
        var ceilings = MachineCeiling.Measure(plan.MatmulSizes, plan.MatmulRepeats, plan.CopyBytes, table);
        var (fp32, bf16, bandwidth) = (ceilings.Float32, ceilings.BFloat16, ceilings.Bandwidth);

        // 2. Training: forward + backward of the policy pass, LoRA r = 16.
        foreach (var (name, config) in new[] { ("20M", BenchmarkModels.Small), ("100M", BenchmarkModels.Medium) })
            foreach (var dtype in new[] { ScalarType.Float32, ScalarType.BFloat16 })
            {
                cancellationToken.ThrowIfCancellationRequested();
                int length = Prompt + plan.TrainCompletion;
                double seconds = TrainingThroughput.Seconds(config, dtype, LoraRank, plan.TrainRows, Prompt, plan.TrainCompletion, plan.TrainRepeats);
                double flops = ModelFlops.Of(config, LoraRank).LoraTraining(plan.TrainRows, length, plan.TrainCompletion) / seconds;
                double ceiling = dtype == ScalarType.Float32 ? fp32 : bf16;
                Row("training", $"{name} LoRA r{LoraRank} {DtypeName(dtype)}, fwd + bwd, {plan.TrainRows} × ({Prompt} + {plan.TrainCompletion}) tokens",
                    $"{plan.TrainRows * length / seconds:F0} tokens/s = {Giga(flops, "FLOP/s")}",
                    $"{DtypeName(dtype)} matmul {Giga(ceiling, "FLOP/s")}", $"MFU {flops / ceiling:P0} (fp32 ceiling: {flops / fp32:P0})");
            }

        // 3. Sampling at G = 8: the cached sampler against the bounds of its decode steps and against naive generation.
        {
            var config = BenchmarkModels.Small;
            using var model = CausalLM.Create(config, seed: 0);
            var tokenizer = new IdTokenizer(config.VocabSize);
            var prompt = tokenizer.Prompt(SamplerThroughput.PromptLength);
            int g = SamplerThroughput.GroupSize;
            var options = new SamplingOptions { MaxNewTokens = plan.SampleTokens, EosTokenIds = [], Seed = 1 };
            SamplerThroughput.Cached(model, tokenizer, prompt, options with { MaxNewTokens = 8 });   // warm-up
            double cached = Enumerable.Range(0, plan.SampleRepeats).Select(_ => SamplerThroughput.Cached(model, tokenizer, prompt, options))
                .Order().ElementAt(plan.SampleRepeats / 2);
            var shapes = ModelFlops.Of(config, loraRank: 0);
            double context = SamplerThroughput.PromptLength + plan.SampleTokens / 2.0;   // the mean context of a decode step
            double bandwidthBound = g * bandwidth / shapes.DecodeStepBytes(g, context, sizeof(float));
            double computeBound = fp32 / shapes.DecodeTokenFlops(context);
            string figure = $"20M float32, G = {g}, {SamplerThroughput.PromptLength}-token prompt, {plan.SampleTokens} new tokens";
            Row("sampling", figure, $"{cached:F0} tokens/s",
                $"bandwidth bound {bandwidthBound:F0} tokens/s ({shapes.DecodeStepBytes(g, context, sizeof(float)) / 1e6:F0} MB per decode step)",
                $"{cached / bandwidthBound:P0} of bound");
            Row("sampling", figure, $"{cached:F0} tokens/s",
                $"compute bound {computeBound:F0} tokens/s ({shapes.DecodeTokenFlops(context) / 1e6:F0} MFLOP per token)", $"{cached / computeBound:P0} of bound");
            var shortRun = options with { MaxNewTokens = plan.NaiveTokens };
            SamplerThroughput.Naive(model, prompt, shortRun with { MaxNewTokens = 4 });
            double naive = SamplerThroughput.Naive(model, prompt, shortRun);
            double cachedShort = SamplerThroughput.Cached(model, tokenizer, prompt, shortRun);
            Row("sampling", $"cached against naive (whole sequence every step), {plan.NaiveTokens} new tokens",
                $"{cachedShort:F0} tokens/s", $"naive {naive:F0} tokens/s", $"{cachedShort / naive:F1}× (naive's cost grows quadratically with length)");
        }

        // 4. Log-probs: the existing child-process harness, naive then chunked.
        {
            var naive = LogProbMemory.RunChild("naive", plan.LogProbSizes);
            var chunked = LogProbMemory.RunChild("chunked", plan.LogProbSizes);
            string shape = $"B {plan.LogProbSizes[0]}, T {plan.LogProbSizes[1]}, H {plan.LogProbSizes[2]}, V {plan.LogProbSizes[3]}";
            Row("log-probs", $"chunked peak memory above inputs, fwd + bwd ({shape})", $"{chunked.PeakAboveBaselineMiB:F0} MiB",
                $"naive {naive.PeakAboveBaselineMiB:F0} MiB", $"{chunked.PeakAboveBaselineMiB / naive.PeakAboveBaselineMiB:F3}×");
            Row("log-probs", "chunked time, fwd + bwd", $"{chunked.Seconds:F2} s", $"naive {naive.Seconds:F2} s", $"{chunked.Seconds / naive.Seconds:F2}×");
        }

        // 5. A whole GRPO step, and its parts as shares.
        var baseConfig = BenchmarkModels.Small;
        var step = await GrpoStepTimings.CheapestStep(baseConfig, plan.StepGenerations, plan.StepCompletion, plan.StepSteps, cancellationToken);
        double stepCpu = step.CpuSeconds;
        {
            var shapes = ModelFlops.Of(baseConfig, LoraRank);
            double stepFlops = shapes.GrpoStep(plan.StepGenerations, Prompt, plan.StepCompletion, reference: true);
            string setup = $"20M LoRA r{LoraRank} float32, G = {plan.StepGenerations}, {plan.StepCompletion} new tokens, β = 0.04";
            Row("GRPO step", setup, $"{step.StepSeconds:F2} s wall ({stepCpu:F2} s CPU), {Giga(stepFlops / step.StepSeconds, "FLOP/s")}",
                $"float32 matmul {Giga(fp32, "FLOP/s")}", $"MFU {stepFlops / step.StepSeconds / fp32:P0} (on CPU time {stepFlops / stepCpu / fp32:P0})");
            double other = step.StepSeconds - step.SamplingSeconds - step.RewardSeconds - step.ReferenceSeconds - step.PolicySeconds;
            foreach (var (part, seconds) in new[]
                     {
                         ("sampling", step.SamplingSeconds), ("rewards", step.RewardSeconds), ("reference pass", step.ReferenceSeconds),
                         ("policy pass + optimizer", step.PolicySeconds), ("rest (batching, metrics)", other),
                     })
                Row("GRPO step", $"— {part}", $"{seconds:F3} s", $"step {step.StepSeconds:F2} s", $"{seconds / step.StepSeconds:P1}");
        }

        // 6. Growth: double G, completion length and model depth in turn around the step above. Per-token cost is taken
        //    from CPU time: on a shared machine the wall time of a single step varies by more than the effect measured.
        var growthAxes = new (string Axis, Func<int, (ModelConfig Config, int G, int C)> Point)[]
        {
            ("G", k => (baseConfig, plan.StepGenerations * k / 2, plan.StepCompletion)),
            ("completion length", k => (baseConfig, plan.StepGenerations, plan.StepCompletion * k / 2)),
            ("model size (layers)", k => (baseConfig with { NumHiddenLayers = baseConfig.NumHiddenLayers * k / 2 }, plan.StepGenerations, plan.StepCompletion)),
        };
        double basePerToken = stepCpu / (plan.StepGenerations * (Prompt + plan.StepCompletion));
        double baseFlopsPerToken = ModelFlops.Of(baseConfig, LoraRank).GrpoStep(plan.StepGenerations, Prompt, plan.StepCompletion, true)
                                   / (plan.StepGenerations * (Prompt + plan.StepCompletion));
        foreach (var (axis, point) in growthAxes)
            foreach (int k in new[] { 1, 2, 4 })   // ½×, 1× (the step above) and 2× the base
            {
                var (config, g, c) = point(k);
                var metrics = k == 2 ? step : await GrpoStepTimings.CheapestStep(config, g, c, plan.GrowthSteps, cancellationToken);
                double cpu = metrics.CpuSeconds;
                long tokens = (long)g * (Prompt + c);
                double perToken = cpu / tokens;
                double flopsPerToken = ModelFlops.Of(config, LoraRank).GrpoStep(g, Prompt, c, true) / tokens;
                Row("growth", $"{axis}: G = {g}, {c} new tokens, {config.NumHiddenLayers} layers ({ModelFlops.Of(config, LoraRank).LayerWeights / 1e6:F1}M layer weights)",
                    $"{metrics.StepSeconds:F2} s wall, {cpu:F2} s CPU = {perToken * 1e6:F0} µs CPU per token ({tokens} tokens)",
                    $"base {basePerToken * 1e6:F0} µs CPU per token", $"{perToken / basePerToken:F2}× per token (model FLOPs per token {flopsPerToken / baseFlopsPerToken:F2}×)");
            }

        // 7. The same work in plain PyTorch, where python3 has torch.
        PeerComparison.AddRows(table, "20M", BenchmarkModels.Small, plan.Peer, threads, plan == Plan.Quick ? 1 : 3);

        table.Print(threads, plan == Plan.Quick ? "--quick run" : "full run");
        return 0;
    }

    private static string Giga(double value, string unit) => ResultTable.Giga(value, unit);

    private static string DtypeName(ScalarType dtype) => dtype == ScalarType.Float32 ? "float32" : "bfloat16";
}
