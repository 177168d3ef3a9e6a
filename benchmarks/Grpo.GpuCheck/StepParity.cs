using Grpo.Lora;
using Grpo.Modeling;
using Grpo.Training;
using static TorchSharp.torch;

namespace Grpo.GpuCheck;

/// <summary>
/// A LoRA GRPO step on the device gives the CPU's loss for the same batch. The model is the Qwen3 fixture with PEFT's
/// LoRA adapter (non-zero B, so the adapter changes the outputs and the KL term is not zero); the batch is fixed:
/// token ids from a seeded generator, advantages, and π_old log-probs set apart from the policy's by a fixed pattern
/// so that some ratios fall outside the clip range. The reference is the same step on the CPU in float64; the CPU in
/// float32 and the device in float32 must each come within the tolerances of it: the loss before the update, the
/// gradient norm, and the loss after one AdamW step (which checks backward and the optimizer on the device too).
/// </summary>
internal static class StepParity
{
    /// <summary>
    /// Losses are averages over 40 tokens of terms of size about 1; float32 keeps 24 bits, so the float32 losses land
    /// within about 1e-6 of float64 (measured on the CPU: under 1e-6). 1e-5 allows other kernels' summation order.
    /// </summary>
    public const double LossTolerance = 1e-5;

    /// <summary>Relative tolerance on the gradient norm (a sum over every LoRA weight's squared gradient).</summary>
    public const double GradNormRelativeTolerance = 1e-4;

    private const int Rows = 4, PromptLength = 6, CompletionLength = 10;

    private static readonly GrpoOptions Options = new()
    {
        Beta = 0.04,
        LearningRate = 1e-3,
        MaxGradNorm = 1e6,   // no clipping: the norm itself is compared, and clipping would hide a scaled gradient
    };

    /// <summary>The step on the CPU in float64 and float32 and, when it is not the CPU, on <paramref name="device"/> in float32.</summary>
    public static List<CheckResult> Run(string fixtures, DeviceType device)
    {
        var random = new Random(7);
        int vocab = ModelConfig.Load(Path.Combine(fixtures, "qwen3-qknorm-tied", Checkpoint.ConfigFileName)).VocabSize;
        var prompts = Enumerable.Range(0, Rows).Select(_ => Enumerable.Range(0, PromptLength).Select(_ => random.Next(vocab)).ToArray()).ToList();
        var completions = Enumerable.Range(0, Rows).Select(_ => Enumerable.Range(0, CompletionLength).Select(_ => random.Next(vocab)).ToArray()).ToList();
        double[] advantages = [1.0, -1.0, 0.5, -0.5];
        // π_old = π + a fixed offset in [-0.3, 0.3]: ratios exp(-offset) from 0.74 to 1.35, some clipped at 1 ± 0.2.
        var offsets = Enumerable.Range(0, Rows * CompletionLength).Select(i => 0.3 * Math.Sin(1.7 * i)).ToArray();

        var reference = Step(fixtures, DeviceType.CPU, ScalarType.Float64, prompts, completions, advantages, offsets, old: null);
        var results = new List<CheckResult>();
        results.AddRange(Compare("CPU float32", Step(fixtures, DeviceType.CPU, ScalarType.Float32, prompts, completions, advantages, offsets, reference.Old), reference));
        if (device != DeviceType.CPU)
            results.AddRange(Compare($"{device} float32", Step(fixtures, device, ScalarType.Float32, prompts, completions, advantages, offsets, reference.Old), reference));
        return results;
    }

    private sealed record Outcome(double LossBefore, double GradNorm, double LossAfter, double[] Old);

    private static IEnumerable<CheckResult> Compare(string what, Outcome outcome, Outcome reference)
    {
        const string detail = "LoRA GRPO step (Qwen3 fixture + PEFT adapter, 4 x (6 + 10) tokens, beta 0.04, dapo) against the CPU in float64";
        yield return new CheckResult($"step loss {what}", Math.Abs(outcome.LossBefore - reference.LossBefore), LossTolerance,
            $"{detail}: |loss - {reference.LossBefore:R}|");
        yield return new CheckResult($"step gradient norm {what}", Math.Abs(outcome.GradNorm / reference.GradNorm - 1), GradNormRelativeTolerance,
            $"{detail}: |norm / {reference.GradNorm:R} - 1|");
        yield return new CheckResult($"step loss after AdamW {what}", Math.Abs(outcome.LossAfter - reference.LossAfter), LossTolerance,
            $"{detail}: |loss after one AdamW step (lr 1e-3) - {reference.LossAfter:R}|");
    }

    /// <summary>
    /// Runs the step with the model on <paramref name="device"/> in <paramref name="dtype"/>. With <paramref name="old"/>
    /// null (the reference run) π_old is made here from the policy's own log-probs plus the offsets, and returned.
    /// </summary>
    private static Outcome Step(string fixtures, DeviceType device, ScalarType dtype,
        List<int[]> prompts, List<int[]> completions, double[] advantages, double[] offsets, double[]? old)
    {
        using var scope = NewDisposeScope();
        using var model = Checkpoint.Load(Path.Combine(fixtures, "qwen3-qknorm-tied"), new Device(device), dtype);
        var lora = LoraModel.Load(model, Path.Combine(fixtures, "qwen3-qknorm-tied-lora"), baseModelNameOrPath: null);
        using var batch = GrpoBatch.Build(prompts, completions, advantages, model.Device);
        using var step = new LoraGrpoStep(model, lora, Options);
        if (old is null)
        {
            using var noGrad = no_grad();
            model.eval();
            var policy = step.LogProbs(batch).to(ScalarType.Float64).cpu().data<double>().ToArray();
            old = policy.Zip(offsets, (p, o) => p + o).ToArray();
        }
        // π_old in the policy's log-prob dtype: float32, or float64 for a float64 model.
        var oldTensor = tensor(old, [Rows, CompletionLength], dtype: dtype == ScalarType.Float64 ? ScalarType.Float64 : ScalarType.Float32, device: model.Device);
        var referenceLogProbs = step.ReferenceLogProbs(batch);
        var (lossBefore, gradNorm) = step.Update(batch, referenceLogProbs, oldTensor);
        var lossAfter = step.Loss(batch, referenceLogProbs, oldTensor);
        return new Outcome(lossBefore, gradNorm, lossAfter, old);
    }
}
