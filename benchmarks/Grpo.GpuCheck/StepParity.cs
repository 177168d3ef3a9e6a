using Grpo.Benchmarks;
using Grpo.Data;
using Grpo.Lora;
using Grpo.Modeling;
using Grpo.Sampling;
using Grpo.Training;
using static TorchSharp.torch;

namespace Grpo.GpuCheck;

/// <summary>
/// The library's GRPO step (<see cref="GrpoStep"/>) on the device gives the CPU's loss for the same batch. The model is
/// the Qwen3 fixture with PEFT's LoRA adapter (non-zero B, so the adapter changes the outputs and the KL term is not
/// zero). The batch is sampled once from the CPU model and replayed everywhere (<see cref="ReplayedRollouts"/>),
/// its log-probs set apart from the model's by a fixed pattern as another engine's would be, so the step also runs its
/// old-policy pass and the sampler importance-sampling correction. The reference is two steps on the CPU in float64;
/// a float32 CPU run (fresh model, same batch) and the device's float32 run must each come within the tolerances of it:
/// the first step's loss and gradient norm, and the second step's loss, taken after one AdamW update (which checks
/// backward and the optimizer on the device too).
/// </summary>
internal static class StepParity
{
    /// <summary>
    /// Losses are averages over 40 tokens of terms of size about 1; float32 keeps 24 bits, so two float32 runs that
    /// sum in different orders differ by about 1e-6 (the float32 step measured against float64 before: under 1e-6).
    /// 1e-5 allows other kernels' summation order.
    /// </summary>
    public const double LossTolerance = 1e-5;

    /// <summary>Relative tolerance on the gradient norm (a sum over every LoRA weight's squared gradient).</summary>
    public const double GradNormRelativeTolerance = 1e-4;

    private const int Prompts = 2, Generations = 2, PromptLength = 6, CompletionLength = 10;
    private const double LearningRate = 1e-3;

    private static readonly GrpoOptions Options = new()
    {
        NumGenerations = Generations,
        PromptsPerStep = Prompts,
        MaxCompletionLength = CompletionLength,
        Beta = 0.04,
        LearningRate = LearningRate,
        MaxGradNorm = 1e6,   // no clipping: the norm itself is compared, and clipping would hide a scaled gradient
    };

    /// <summary>The step twice on the CPU in float64 and float32 and, when it is not the CPU, on <paramref name="device"/> in float32.</summary>
    public static List<CheckResult> Run(string fixtures, DeviceType device)
    {
        var random = new Random(7);
        int vocab = ModelConfig.Load(Path.Combine(fixtures, "qwen3-qknorm-tied", Checkpoint.ConfigFileName)).VocabSize;
        var prompts = Enumerable.Range(0, Prompts).Select(_ => Enumerable.Range(0, PromptLength).Select(_ => random.Next(vocab)).ToArray()).ToList();
        var tokenizer = new IdTokenizer(vocab);
        var problems = CheckStep.Problems(tokenizer, prompts);
        var batch = Prepare(fixtures, tokenizer, prompts);

        var reference = Steps(fixtures, DeviceType.CPU, ScalarType.Float64, batch, problems, prompts);
        var results = new List<CheckResult>();
        results.AddRange(Compare("CPU float32", Steps(fixtures, DeviceType.CPU, ScalarType.Float32, batch, problems, prompts), reference));
        if (device != DeviceType.CPU)
            results.AddRange(Compare($"{device} float32", Steps(fixtures, device, ScalarType.Float32, batch, problems, prompts), reference));
        return results;
    }

    /// <summary>
    /// The batch every run trains on: completions sampled from the CPU model (EOS off, so each has
    /// <see cref="CompletionLength"/> tokens), their log-probs shifted by 0.3 sin(1.7 i), so the trainer/engine
    /// per-token ratios exp(-shift) run from 0.74 to 1.35 and the sampler correction weighs the rows differently.
    /// </summary>
    private static IReadOnlyList<Completion> Prepare(string fixtures, IdTokenizer tokenizer, List<int[]> prompts)
    {
        using var scope = NewDisposeScope();
        var (model, _) = Load(fixtures, DeviceType.CPU, ScalarType.Float32);
        using (model)
        using (var sampler = new InProcessRollouts(model, tokenizer, new SamplingOptions { EosTokenIds = [], MaxNewTokens = CompletionLength }))
        {
            var sampled = sampler.GenerateAsync(new RolloutRequest(prompts, Generations, Seed: 11)).GetAwaiter().GetResult();
            return sampled.Select((c, row) => c with
            {
                LogProbs = c.LogProbs.Select((l, t) => (float)(l + 0.3 * Math.Sin(1.7 * (row * CompletionLength + t)))).ToArray(),
            }).ToList();
        }
    }

    private sealed record Outcome(double Loss, double GradNorm, double LossAfter);

    private static IEnumerable<CheckResult> Compare(string what, Outcome outcome, Outcome reference)
    {
        const string detail = "GrpoStep (Qwen3 fixture + PEFT adapter, 4 x (6 + 10) replayed tokens, beta 0.04, dapo, sampler correction) against the CPU in float64";
        yield return new CheckResult($"step loss {what}", Math.Abs(outcome.Loss - reference.Loss), LossTolerance,
            $"{detail}: |loss - {reference.Loss:R}|");
        yield return new CheckResult($"step gradient norm {what}", Math.Abs(outcome.GradNorm / reference.GradNorm - 1), GradNormRelativeTolerance,
            $"{detail}: |norm / {reference.GradNorm:R} - 1|");
        yield return new CheckResult($"step loss after AdamW {what}", Math.Abs(outcome.LossAfter - reference.LossAfter), LossTolerance,
            $"{detail}: |second step's loss, after one AdamW update (lr 1e-3) - {reference.LossAfter:R}|");
    }

    /// <summary>Two GrpoSteps on the replayed batch with a freshly loaded model on <paramref name="device"/> in <paramref name="dtype"/>.</summary>
    private static Outcome Steps(string fixtures, DeviceType device, ScalarType dtype, IReadOnlyList<Completion> batch,
        IReadOnlyList<Problem> problems, IReadOnlyList<int[]> prompts)
    {
        using var scope = NewDisposeScope();
        var (model, lora) = Load(fixtures, device, dtype);
        using (model)
        using (var optimizer = new PolicyOptimizer(lora.TrainableParameters(), Options))
        {
            var step = CheckStep.Create(model, lora, new ReplayedRollouts(batch), optimizer, Options);
            var first = step.Run(problems, prompts, new GrpoStepContext(1, 2, LearningRate, Seed: 1));
            var second = step.Run(problems, prompts, new GrpoStepContext(2, 2, LearningRate, Seed: 2));
            return new Outcome(first.Loss, first.GradNorm, second.Loss);
        }
    }

    private static (CausalLM Model, LoraModel Lora) Load(string fixtures, DeviceType device, ScalarType dtype)
    {
        var model = Checkpoint.Load(Path.Combine(fixtures, "qwen3-qknorm-tied"), new Device(device), dtype);
        return (model, LoraModel.Load(model, Path.Combine(fixtures, "qwen3-qknorm-tied-lora"), baseModelNameOrPath: null));
    }
}
