using System.Text.Json.Nodes;
using Grpo.Benchmarks;
using Grpo.Lora;
using Grpo.Modeling;
using Grpo.Sampling;
using Grpo.Training;
using static TorchSharp.torch;

namespace Grpo.GpuCheck;

/// <summary>
/// The library's GRPO step (<see cref="GrpoStep"/> over <see cref="InProcessRollouts"/>) on <see cref="SpeedShape"/>,
/// timed phase by phase as the step itself reports it (<see cref="GrpoStepMetrics"/>): sampling (prefill once per
/// prompt, then decode with the KV cache, adapters on), rewards and advantages on the host, the reference pass
/// (adapter off) and the policy pass (forward, backward, AdamW). One untimed warm-up step, then the mean of the timed
/// steps. The PyTorch peer script (benchmarks/gpu/peer_step.py) writes the same keys for transformers + PEFT on the
/// same shapes.
/// </summary>
/// <remarks>
/// The step reads host clocks at its phase boundaries. On CUDA the sampling and policy phases end in host reads (the
/// sampled ids, the loss), so their times hold their kernels; the reference pass ends without one, so some of its
/// kernels are counted in the policy phase. The step's total is exact: it ends with a read of the weights.
/// </remarks>
internal static class SpeedRun
{
    /// <summary>The speed figures as JSON, under the keys peer_step.py uses too.</summary>
    public static JsonObject Run(SpeedShape shape, DeviceType device, int steps, GpuMemoryPoller? memory, TextWriter log)
    {
        var ceiling = MatmulCeiling.Measure(device, device == DeviceType.CUDA ? [4096, 8192] : [256], repeats: device == DeviceType.CUDA ? 10 : 2);
        log.WriteLine($"bf16 matmul ceiling: {ceiling / 1e12:G4} TFLOP/s");

        using var model = CausalLM.Create(shape.Config, seed: 1, new Device(device), shape.Dtype);
        var lora = LoraModel.Apply(model, new LoraOptions { Rank = shape.LoraRank, Alpha = 2 * shape.LoraRank });
        var options = new GrpoOptions
        {
            NumGenerations = shape.Generations,
            PromptsPerStep = shape.Prompts,
            MaxCompletionLength = shape.CompletionLength,
            LearningRate = LearningRate,
            Beta = 0.04,
        };
        var tokenizer = new IdTokenizer(shape.Config.VocabSize);
        var prompts = Enumerable.Range(0, shape.Prompts)
            .Select(p => tokenizer.Prompt(shape.PromptLength + p).Skip(p).ToArray())   // different prompts, same length
            .ToList();
        var problems = CheckStep.Problems(tokenizer, prompts);
        using var rollouts = new InProcessRollouts(model, tokenizer, new SamplingOptions
        {
            MaxNewTokens = shape.CompletionLength,
            EosTokenIds = [],   // EOS off: every completion is C tokens long, on both sides
            PromptsPerBatch = shape.Prompts,
        });
        using var optimizer = new PolicyOptimizer(lora.TrainableParameters(), options);
        var step = CheckStep.Create(model, lora, rollouts, optimizer, options);

        var timed = new List<GrpoStepMetrics>();
        for (int s = 0; s <= steps; s++)
        {
            DeviceClock.Synchronize(device);   // the step's clock starts with nothing of the last step still queued
            var m = step.Run(problems, prompts, new GrpoStepContext(s + 1, steps + 1, LearningRate, Seed: s + 1));
            log.WriteLine($"step {s}{(s == 0 ? " (warm-up)" : "")}: {m.StepSeconds:F3} s = sampling {m.SamplingSeconds:F3} + rewards {m.RewardSeconds:F3} " +
                          $"+ reference {m.ReferenceSeconds:F3} + policy {m.PolicySeconds:F3}; loss {m.Loss:G6}");
            if (s > 0) timed.Add(m);
        }

        var flops = ModelFlops.Of(shape.Config, shape.LoraRank);
        long rows = shape.Rows, p = shape.PromptLength, c = shape.CompletionLength;
        double Mean(Func<GrpoStepMetrics, double> f) => timed.Average(f);
        double stepSeconds = Mean(m => m.StepSeconds), policySeconds = Mean(m => m.PolicySeconds);
        double trainingFlops = flops.LoraTraining(rows, p + c, c);
        double stepFlops = flops.GrpoStep(rows, p, c, reference: true);
        return new JsonObject
        {
            ["program"] = "grpo",
            ["shape"] = shape.Name,
            ["dtype"] = FixtureParity.DtypeName(shape.Dtype),
            ["parameters"] = model.ParameterCount,
            ["lora_parameters"] = lora.TrainableParameterCount,
            ["rows"] = rows,
            ["prompt_length"] = p,
            ["completion_length"] = c,
            ["timed_steps"] = timed.Count,
            ["step_seconds"] = stepSeconds,
            ["sampling_seconds"] = Mean(m => m.SamplingSeconds),
            ["rewards_seconds"] = Mean(m => m.RewardSeconds),
            ["reference_seconds"] = Mean(m => m.ReferenceSeconds),
            ["policy_seconds"] = policySeconds,
            // Over the mean times, as peer_step.py computes them (GrpoStepMetrics' rates are per step).
            ["decode_tokens_per_second"] = rows * c / Mean(m => m.SamplingSeconds),
            ["training_tokens_per_second"] = rows * (p + c) / policySeconds,
            ["training_tflops_per_second"] = trainingFlops / policySeconds / 1e12,
            ["matmul_bf16_tflops_per_second"] = ceiling / 1e12,
            ["training_mfu"] = trainingFlops / policySeconds / ceiling,
            ["step_mfu"] = stepFlops / stepSeconds / ceiling,
            ["peak_gpu_memory_mib"] = memory?.PeakMiB,
            ["last_loss"] = timed[^1].Loss,
        };
    }

    private const double LearningRate = 1e-5;
}
