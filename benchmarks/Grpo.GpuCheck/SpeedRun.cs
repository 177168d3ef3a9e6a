using System.Text.Json.Nodes;
using Grpo.Benchmarks;
using Grpo.Lora;
using Grpo.Modeling;
using Grpo.Sampling;
using Grpo.Training;
using static TorchSharp.torch;

namespace Grpo.GpuCheck;

/// <summary>
/// GRPO steps on <see cref="SpeedShape"/> timed phase by phase: sampling (prefill once per prompt, then decode with
/// the KV cache, adapters on), rewards and advantages on the host, the reference pass (adapter off) and the policy
/// pass (forward, backward, AdamW). One untimed warm-up step, then the mean of the timed steps. The PyTorch peer
/// script (benchmarks/gpu/peer_step.py) writes the same keys for transformers + PEFT on the same shapes.
/// </summary>
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
            LearningRate = 1e-5,
            Beta = 0.04,
        };
        var tokenizer = new IdTokenizer(shape.Config.VocabSize);
        var prompts = Enumerable.Range(0, shape.Prompts)
            .Select(p => tokenizer.Prompt(shape.PromptLength + p).Skip(p).ToArray())   // different prompts, same length
            .ToList();
        using var sampler = new GroupSampler(model, tokenizer, new SamplingOptions
        {
            MaxNewTokens = shape.CompletionLength,
            EosTokenIds = [],   // EOS off: every completion is C tokens long, on both sides
            PromptsPerBatch = shape.Prompts,
            Seed = 1,
        });
        using var step = new LoraGrpoStep(model, lora, options);

        var timings = new List<StepTimings>();
        for (int s = 0; s <= steps; s++)
        {
            var timing = Step(shape, device, model, sampler, step, prompts);
            log.WriteLine($"step {s}{(s == 0 ? " (warm-up)" : "")}: {timing.Step:F3} s = sampling {timing.Sampling:F3} + rewards {timing.Rewards:F3} " +
                          $"+ reference {timing.Reference:F3} + policy {timing.Policy:F3}; loss {timing.Loss:G6}");
            if (s > 0) timings.Add(timing);
        }

        var flops = ModelFlops.Of(shape.Config, shape.LoraRank);
        long rows = shape.Rows, p = shape.PromptLength, c = shape.CompletionLength;
        double Mean(Func<StepTimings, double> f) => timings.Average(f);
        double stepSeconds = Mean(t => t.Step), policySeconds = Mean(t => t.Policy);
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
            ["timed_steps"] = timings.Count,
            ["step_seconds"] = stepSeconds,
            ["sampling_seconds"] = Mean(t => t.Sampling),
            ["rewards_seconds"] = Mean(t => t.Rewards),
            ["reference_seconds"] = Mean(t => t.Reference),
            ["policy_seconds"] = policySeconds,
            ["decode_tokens_per_second"] = rows * c / Mean(t => t.Sampling),
            ["training_tokens_per_second"] = rows * (p + c) / policySeconds,
            ["training_tflops_per_second"] = trainingFlops / policySeconds / 1e12,
            ["matmul_bf16_tflops_per_second"] = ceiling / 1e12,
            ["training_mfu"] = trainingFlops / policySeconds / ceiling,
            ["step_mfu"] = stepFlops / stepSeconds / ceiling,
            ["peak_gpu_memory_mib"] = memory?.PeakMiB,
            ["last_loss"] = timings[^1].Loss,
        };
    }

    private sealed record StepTimings(double Sampling, double Rewards, double Reference, double Policy, double Step, double Loss);

    private static StepTimings Step(SpeedShape shape, DeviceType device, CausalLM model, GroupSampler sampler, LoraGrpoStep step, List<int[]> prompts)
    {
        using var scope = NewDisposeScope();
        var (completions, sampling) = DeviceClock.Time(device, () =>
        {
            using var noGrad = no_grad();
            model.eval();
            return sampler.Sample(prompts, shape.Generations);
        });

        var (batch, rewards) = DeviceClock.Time(device, () =>
        {
            // A cheap verifiable-style reward on the host: the share of even token ids. Random weights give every
            // completion a different share, so no group has zero spread and every advantage is non-zero.
            var scores = completions.Select(c => c.TokenIds.Count(id => id % 2 == 0) / (double)c.TokenIds.Length).ToArray();
            var advantages = Advantages.Compute([scores], [1.0], shape.Generations, ScaleRewards.Group);
            var rowPrompts = completions.Select(c => prompts[c.PromptIndex]).ToList();
            return GrpoBatch.Build(rowPrompts, completions.Select(c => c.TokenIds).ToList(), advantages.Values, model.Device);
        });
        using (batch)
        {
            var (referenceLogProbs, reference) = DeviceClock.Time(device, () => step.ReferenceLogProbs(batch));
            var ((loss, _), policy) = DeviceClock.Time(device, () => step.Update(batch, referenceLogProbs, oldLogProbs: null));
            return new StepTimings(sampling, rewards, reference, policy, sampling + rewards + reference + policy, loss);
        }
    }
}
