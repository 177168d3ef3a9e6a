using System.Diagnostics;
using System.Text.Json;
using System.Text.Json.Serialization;
using Grpo.Data;
using Grpo.Lora;
using Grpo.Modeling;
using Grpo.Rewards.Math;
using Grpo.Training;
using static TorchSharp.torch;

namespace Grpo.Benchmarks;

/// <summary>
/// Whole GRPO steps through <see cref="GrpoTrainer"/> on a random-weight model with LoRA r = 16: G completions of each
/// 32-token prompt, the maths answer reward (the completions are numbers, so the verifier parses every one), β &gt; 0
/// so the reference pass runs, one update per step, no EOS (every completion is full length). The first step pays
/// one-time costs (allocator growth, kernel selection for new shapes) and is left out of the cheapest step; of the rest
/// the one with the least CPU time is reported, as the ceilings are best-of too. Each step's process CPU time is recorded
/// beside its wall time: with one torch thread it is the work the step did, while on a shared machine wall time also
/// counts the neighbours' turns on the cores. Resident memory is read after every step.
/// </summary>
internal static class GrpoStepTimings
{
    public const int PromptLength = 32;
    public const int LoraRank = 16;

    /// <summary>One run's shape: the model, its dtype, prompts × G completions of C tokens, and the training features switched on.</summary>
    public sealed record Setup(ModelConfig Config, ScalarType Dtype, int Prompts, int Generations, int CompletionLength, int Steps,
                               bool GradientCheckpointing = false, int MaxTokensPerMicroBatch = 0)
    {
        /// <summary>Tokens through the policy pass per step: every row's prompt and completion.</summary>
        public long TrainedTokens => (long)Prompts * Generations * (PromptLength + CompletionLength);
    }

    /// <summary>One step: <see cref="GrpoStepMetrics"/>' timings, the process CPU time, and resident memory after it (now and high-water).</summary>
    public sealed record Step(double StepSeconds, double SamplingSeconds, double RewardSeconds, double ReferenceSeconds, double PolicySeconds,
                              double CpuSeconds, long ResidentBytes, long PeakBytes);

    /// <summary>Every step of a run, and the resident set with the model and adapters built, before the first step.</summary>
    public sealed record Run(long WeightsResidentBytes, IReadOnlyList<Step> Steps)
    {
        /// <summary>The step with the least CPU time but the first (so a run needs at least 2 steps).</summary>
        [JsonIgnore]
        public Step Cheapest => Steps.Skip(1).MinBy(s => s.CpuSeconds) ?? throw new InvalidOperationException("The cheapest step needs a run of at least 2 steps.");

        /// <summary>The process's resident-set high-water mark over the run.</summary>
        [JsonIgnore]
        public long PeakBytes => Steps.Max(s => s.PeakBytes);
    }

    /// <summary>The cheapest step but the first of a float32 run with one prompt per step (see the class summary).</summary>
    public static async Task<Step> CheapestStep(ModelConfig config, int generations, int completionLength, int steps, CancellationToken cancellationToken) =>
        (await Train(new Setup(config, ScalarType.Float32, 1, generations, completionLength, steps), cancellationToken)).Cheapest;

    /// <summary>Trains <see cref="Setup.Steps"/> steps in this process and records each.</summary>
    public static async Task<Run> Train(Setup setup, CancellationToken cancellationToken)
    {
        using var model = CausalLM.Create(setup.Config, seed: 0, dtype: setup.Dtype);
        var lora = LoraModel.Apply(model, new LoraOptions { Rank = LoraRank, Alpha = 2 * LoraRank });
        var tokenizer = new IdTokenizer(setup.Config.VocabSize);
        var answer = JsonDocument.Parse("\"42\"").RootElement;
        var problems = Enumerable.Range(0, Math.Max(4, setup.Prompts * setup.Steps))
            .Select(k => new Problem(string.Join(' ', tokenizer.Prompt(PromptLength + k)[k..]), new Dictionary<string, JsonElement> { ["answer"] = answer }))
            .ToList();
        var output = Directory.CreateTempSubdirectory("grpo-bench-");
        try
        {
            var options = new GrpoOptions
            {
                NumGenerations = setup.Generations,
                MaxCompletionLength = setup.CompletionLength,
                PromptsPerStep = setup.Prompts,
                MaxSteps = setup.Steps,
                Beta = 0.04,
                LearningRate = 1e-6,
                OutputDir = output.FullName,
                SaveSteps = int.MaxValue,
            };
            options = options with { GradientCheckpointing = setup.GradientCheckpointing, MaxTokensPerMicroBatch = setup.MaxTokensPerMicroBatch };
            long weights = ProcessMemory.ResidentBytes();
            var steps = new List<Step>();
            var cpuBefore = CpuTime();
            void Record(GrpoStepMetrics m)
            {
                var cpu = CpuTime();
                steps.Add(new Step(m.StepSeconds, m.SamplingSeconds, m.RewardSeconds, m.ReferenceSeconds, m.PolicySeconds,
                    (cpu - cpuBefore).TotalSeconds, ProcessMemory.ResidentBytes(), ProcessMemory.PeakBytes()));
                cpuBefore = cpu;
            }
            using var trainer = new GrpoTrainer(model, tokenizer, [new MathAnswerReward()], options, lora) { OnStep = Record };
            await trainer.TrainAsync(problems, cancellationToken: cancellationToken);
            return new Run(weights, steps);
        }
        finally
        {
            output.Delete(recursive: true);
        }
    }

    private static TimeSpan CpuTime()
    {
        using var self = Process.GetCurrentProcess();
        return self.TotalProcessorTime;
    }
}
