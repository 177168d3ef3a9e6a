using System.Globalization;
using Grpo.Modeling;
using static TorchSharp.torch;

namespace Grpo.Benchmarks;

/// <summary>
/// <c>grpo-step --shape qwen2.5-0.5b</c>: the figures that decide whether a real model trains on this machine, on a
/// model of Qwen2.5-0.5B's exact shape and vocabulary with random weights (<see cref="BenchmarkModels.Qwen25HalfB"/>),
/// in float32 and bfloat16, each against its ceiling:
/// <list type="bullet">
/// <item>decode tokens/s at batch 1, 8 and 32 against the roofline min(bandwidth bound, compute bound): the weight
/// bytes over the measured memory bandwidth (the better of copy and read, <see cref="MachineCeiling"/>), and 2 × weights × rows over the measured matmul rate of the dtype;</item>
/// <item>the share of a decode step spent picking the token at top-p 0.95;</item>
/// <item>training (policy forward + backward) in model FLOP/s against the matmul ceiling of the dtype (<see cref="ModelFlops"/>);</item>
/// <item>whole GRPO steps of 2 prompts × 4 × 64 tokens, each run in its own process (<see cref="IsolatedStep"/>):
/// seconds and their split, peak resident memory per trained token, memory over the steps (flat or not), with and
/// without activation checkpointing (<c>GrpoOptions.GradientCheckpointing</c>);</item>
/// <item>the same work in plain PyTorch on the 20M toy shape and on this one (<see cref="PeerComparison"/>).</item>
/// </list>
/// <code>
///   dotnet run -c Release --project benchmarks/Grpo.Benchmarks -- grpo-step --shape qwen2.5-0.5b [--quick] [--threads N]
///       [--steps N (memory over N small steps, default 3)] [--readme-step (also the README's 4 × 8 × 256 step: minutes)]
///       [--max-tokens-per-micro-batch N] [--bf16-all]
/// </code>
/// Where bfloat16 is emulated (its measured matmul rate below float32's: no avx512_bf16 or AMX), a bfloat16 training
/// pass or GRPO step of this shape takes many minutes, so only bfloat16 decode at batch 1 and 8 runs, and a row says so;
/// <c>--bf16-all</c> runs the rest too.
/// </summary>
internal static class RealShapeBenchmark
{
    private const int Prompt = GrpoStepTimings.PromptLength;
    private static readonly ScalarType[] Dtypes = [ScalarType.BFloat16, ScalarType.Float32];

    private sealed record Plan(
        int[] MatmulSizes, int MatmulRepeats, long CopyBytes,
        int[] DecodeRows, int DecodeShort, int DecodeLong, int DecodeRepeats,
        int TrainRows, int TrainCompletion, int TrainRepeats,
        int StepPrompts, int StepGenerations, int StepCompletion, int Steps,
        PeerComparison.Sizes PeerToy, PeerComparison.Sizes PeerReal, int PeerRepeats)
    {
        public static readonly Plan Full = new([256, 512, 1024], 10, 256L << 20, [1, 8, 32], 4, 12, 2, 2, 64, 2, 2, 4, 64, 3,
            PeerComparison.Toy, PeerComparison.Real, 3);
        public static readonly Plan Quick = new([128, 256], 2, 64L << 20, [1, 8], 2, 6, 1, 1, 16, 1, 1, 2, 8, 2,
            new PeerComparison.Sizes(2, 32, 16, 4, 8, 2, 32), new PeerComparison.Sizes(1, 32, 8, 2, 4, 1, 32), 1);
    }

    public static async Task<int> Run(string shape, string[] args, CancellationToken cancellationToken = default)
    {
        var config = BenchmarkModels.ByName(shape);
        var plan = args.Contains("--quick") ? Plan.Quick : Plan.Full;
        int threads = SamplerThroughput.IntArg(args, "--threads") ?? 1;
        int steps = SamplerThroughput.IntArg(args, "--steps") ?? plan.Steps;
        int microBatch = SamplerThroughput.IntArg(args, "--max-tokens-per-micro-batch") ?? 0;
        if (steps < 2) throw new ArgumentException("--steps must be at least 2: the first step is left out of the timings.");
        set_num_threads(threads);
        var table = new ResultTable();
        var shapes = ModelFlops.Of(config, GrpoStepTimings.LoraRank);
        string model = $"{shape} ({(shapes.LayerWeights + shapes.HeadWeights) / 1e6:F0}M weights, vocab {config.VocabSize:N0})";

        var ceilings = MachineCeiling.Measure(plan.MatmulSizes, plan.MatmulRepeats, plan.CopyBytes, table);
        bool bf16Slow = ceilings.BFloat16 < ceilings.Float32 && !args.Contains("--bf16-all");
        if (bf16Slow)
            table.Row("bfloat16", "training, GRPO steps and decode at batch 32: not run", $"bfloat16 is emulated here: matmul {ResultTable.Giga(ceilings.BFloat16, "FLOP/s")}",
                $"float32 {ResultTable.Giga(ceilings.Float32, "FLOP/s")}", "--bf16-all runs them (many minutes)");
        var trained = bf16Slow ? [ScalarType.Float32] : Dtypes;
        foreach (var dtype in Dtypes)
        {
            cancellationToken.ThrowIfCancellationRequested();
            DecodeRows(table, model, config, dtype, dtype == ScalarType.BFloat16 && bf16Slow ? plan.DecodeRows.Where(r => r <= 8).ToArray() : plan.DecodeRows, plan, ceilings);
        }
        foreach (var dtype in trained)
        {
            cancellationToken.ThrowIfCancellationRequested();
            int length = Prompt + plan.TrainCompletion;
            double seconds = TrainingThroughput.Seconds(config, dtype, GrpoStepTimings.LoraRank, plan.TrainRows, Prompt, plan.TrainCompletion, plan.TrainRepeats);
            double flops = shapes.LoraTraining(plan.TrainRows, length, plan.TrainCompletion) / seconds;
            table.Row("training", $"{model} LoRA r{GrpoStepTimings.LoraRank} {Name(dtype)}, fwd + bwd, {plan.TrainRows} × ({Prompt} + {plan.TrainCompletion}) tokens",
                $"{plan.TrainRows * length / seconds:F0} tokens/s = {ResultTable.Giga(flops, "FLOP/s")}",
                $"{Name(dtype)} matmul {ResultTable.Giga(ceilings.Matmul(dtype), "FLOP/s")}", $"MFU {flops / ceilings.Matmul(dtype):P0}");
        }

        var small = new List<(string Label, GrpoStepTimings.Setup Setup)>();
        foreach (var dtype in trained)
            small.Add(($"{Name(dtype)}", new(config, dtype, plan.StepPrompts, plan.StepGenerations, plan.StepCompletion, steps, false, microBatch)));
        small.Add(($"{Name(trained[0])}, checkpointing", new(config, trained[0], plan.StepPrompts, plan.StepGenerations, plan.StepCompletion, steps, true, microBatch)));
        var runs = new List<GrpoStepTimings.Run>();
        foreach (var (label, setup) in small)
        {
            cancellationToken.ThrowIfCancellationRequested();
            var run = IsolatedStep.Run(shape, setup, threads);
            runs.Add(run);
            StepRows(table, $"{shape} LoRA r{GrpoStepTimings.LoraRank} {label}", setup, run, shapes, ceilings);
        }
        if (trained.Length == 2)
            table.Row("GRPO step", $"bfloat16 against float32, {plan.StepPrompts} × {plan.StepGenerations} × {plan.StepCompletion} tokens",
                $"{runs[0].Cheapest.StepSeconds:F2} s, {ResultTable.Bytes(runs[0].PeakBytes)} peak", $"float32 {runs[1].Cheapest.StepSeconds:F2} s, {ResultTable.Bytes(runs[1].PeakBytes)} peak",
                $"{runs[0].Cheapest.StepSeconds / runs[1].Cheapest.StepSeconds:F2}× time, {(double)runs[0].PeakBytes / runs[1].PeakBytes:F2}× memory");

        if (args.Contains("--readme-step"))
        {
            foreach (bool checkpointing in new[] { false, true })
            {
                var setup = new GrpoStepTimings.Setup(config, trained[0], 4, 8, 256, 2, checkpointing, microBatch);
                StepRows(table, $"{shape} {Name(trained[0])}, the README's step{(checkpointing ? ", checkpointing" : "")}", setup, IsolatedStep.Run(shape, setup, threads), shapes, ceilings);
            }
        }

        PeerComparison.AddRows(table, "20M", BenchmarkModels.Small, plan.PeerToy, threads, plan.PeerRepeats);
        PeerComparison.AddRows(table, shape, config, plan.PeerReal, threads, plan.PeerRepeats);

        table.Print(threads, $"--shape {shape}{(plan == Plan.Quick ? " --quick" : "")} run");
        return 0;
    }

    /// <summary>Decode at each batch against its roofline, and the share of a batch-8 step that picking the token takes at top-p 0.95.</summary>
    private static void DecodeRows(ResultTable table, string model, ModelConfig config, ScalarType dtype, int[] batches, Plan plan, MachineCeiling.Ceilings ceilings)
    {
        using var lm = CausalLM.Create(config, seed: 0, dtype: dtype);
        var shapes = ModelFlops.Of(config, loraRank: 0);
        int bytesPerValue = dtype == ScalarType.BFloat16 ? 2 : 4;
        double context = Prompt + (plan.DecodeShort + plan.DecodeLong) / 2.0;   // the mean context of the decode steps measured
        foreach (int rows in batches)
        {
            var (measured, perCpuSecond) = DecodeThroughput.TokensPerSecond(lm, rows, plan.DecodeShort, plan.DecodeLong, plan.DecodeRepeats);
            double bandwidthBound = rows * ceilings.Bandwidth / shapes.DecodeStepBytes(rows, context, bytesPerValue);
            double computeBound = ceilings.Matmul(dtype) / shapes.DecodeTokenFlops(context);
            double roofline = Math.Min(bandwidthBound, computeBound);
            table.Row("decode", $"{model} {Name(dtype)}, batch {rows}, top-p 1",
                $"{measured:F1} tokens/s ({perCpuSecond:F1} per CPU second)", $"roofline {roofline:F1} tokens/s ({(bandwidthBound < computeBound ? "bandwidth" : "compute")}-bound; bandwidth {bandwidthBound:F1}, compute {computeBound:F1})",
                $"{measured / roofline:P0} of roofline");
            if (rows != 8) continue;
            // A step at top-p 0.95 is the step measured at top-p 1 with its token selection swapped for top-p 0.95's.
            double step = rows / measured;
            double plain = DecodeThroughput.SelectionSeconds(lm, rows, 1.0, 5), nucleus = DecodeThroughput.SelectionSeconds(lm, rows, 0.95, 5);
            double nucleusStep = step - plain + nucleus;
            table.Row("decode", $"{Name(dtype)} token selection, batch {rows}, top-p 0.95 (top-p 1: {plain * 1e3:F1} ms)",
                $"{nucleus * 1e3:F1} ms", $"decode step at top-p 0.95 {nucleusStep * 1e3:F0} ms", $"{nucleus / nucleusStep:P0} of the step");
        }
    }

    /// <summary>A run's cheapest step, its split, its peak memory per trained token and how memory moved over the steps.</summary>
    private static void StepRows(ResultTable table, string label, GrpoStepTimings.Setup setup, GrpoStepTimings.Run run, ModelFlops shapes, MachineCeiling.Ceilings ceilings)
    {
        var step = run.Cheapest;
        double flops = shapes.GrpoStep(setup.Prompts * setup.Generations, Prompt, setup.CompletionLength, reference: true);
        string what = $"{label}, {setup.Prompts} prompt(s) × G {setup.Generations} × ({Prompt} + {setup.CompletionLength}) tokens, β = 0.04";
        table.Row("GRPO step", what, $"{step.StepSeconds:F2} s wall ({step.CpuSeconds:F2} s CPU), {ResultTable.Giga(flops / step.StepSeconds, "FLOP/s")}",
            $"{Name(setup.Dtype)} matmul {ResultTable.Giga(ceilings.Matmul(setup.Dtype), "FLOP/s")}", $"MFU {flops / step.StepSeconds / ceilings.Matmul(setup.Dtype):P0}");
        table.Row("GRPO step", "— sampling / rewards / reference pass / policy pass + optimizer",
            $"{step.SamplingSeconds:F2} / {step.RewardSeconds:F3} / {step.ReferenceSeconds:F2} / {step.PolicySeconds:F2} s", $"step {step.StepSeconds:F2} s",
            $"{step.SamplingSeconds / step.StepSeconds:P0} / {step.RewardSeconds / step.StepSeconds:P1} / {step.ReferenceSeconds / step.StepSeconds:P0} / {step.PolicySeconds / step.StepSeconds:P0}");
        double perToken = (run.PeakBytes - run.WeightsResidentBytes) / (double)setup.TrainedTokens;
        table.Row("memory", $"{label}: peak resident above the built model, per trained token ({setup.TrainedTokens} a step)",
            $"{perToken / (1 << 20):F2} MiB per token", $"peak {ResultTable.Bytes(run.PeakBytes)}, model built {ResultTable.Bytes(run.WeightsResidentBytes)}",
            $"{ResultTable.Bytes(run.PeakBytes - run.WeightsResidentBytes)} a step");
        if (run.Steps.Count < 3) return;
        var (second, last) = (run.Steps[1], run.Steps[^1]);
        table.Row("memory", $"{label}: over steps 2 → {run.Steps.Count} (resident after the step; high-water)",
            $"{ResultTable.Bytes(last.ResidentBytes)}; {ResultTable.Bytes(last.PeakBytes)}", $"{ResultTable.Bytes(second.ResidentBytes)}; {ResultTable.Bytes(second.PeakBytes)}",
            $"{Change(last.ResidentBytes, second.ResidentBytes)}; {Change(last.PeakBytes, second.PeakBytes)}");
    }

    // "+0.4%", "-1.2%"; a change that rounds to zero is "+0.0%" whatever its sign.
    private static string Change(long now, long before)
    {
        double change = (double)now / before - 1;
        return (change > -0.0005 ? "+" : "-") + Math.Abs(change).ToString("0.0%", CultureInfo.InvariantCulture);
    }

    private static string Name(ScalarType dtype) => dtype == ScalarType.Float32 ? "float32" : "bfloat16";
}
