using System.Diagnostics;
using System.Text.Json;
using Grpo.Data;
using Grpo.Lora;
using Grpo.Modeling;
using Grpo.Rewards.Math;
using Grpo.Training;

namespace Grpo.Benchmarks;

/// <summary>
/// Whole GRPO steps through <see cref="GrpoTrainer"/> on a random-weight model with LoRA r = 16: G completions of one
/// 32-token prompt, the maths answer reward (the completions are numbers, so the verifier parses every one), β &gt; 0
/// so the reference pass runs, one update per step. The first step pays one-time costs (allocator growth, kernel
/// selection for new shapes) and is left out; of the rest the one with the least CPU time is reported, as the
/// ceilings are best-of too. Each step's process CPU time is recorded beside its wall time: with one torch thread it
/// is the work the step did, while on a shared machine wall time also counts the neighbours' turns on the cores.
/// </summary>
internal static class GrpoStepTimings
{
    public const int PromptLength = 32;
    public const int LoraRank = 16;

    /// <summary>The metrics and process CPU seconds of the cheapest of <paramref name="steps"/> steps but the first (so at least 2).</summary>
    public static async Task<(GrpoStepMetrics Metrics, double CpuSeconds)> CheapestStep(ModelConfig config, int generations, int completionLength, int steps, CancellationToken cancellationToken)
    {
        using var model = CausalLM.Create(config, seed: 0);
        var lora = LoraModel.Apply(model, new LoraOptions { Rank = LoraRank, Alpha = 2 * LoraRank });
        var tokenizer = new IdTokenizer(config.VocabSize);
        var answer = JsonDocument.Parse("\"42\"").RootElement;
        var problems = Enumerable.Range(0, 4)
            .Select(k => new Problem(string.Join(' ', tokenizer.Prompt(PromptLength + k)[k..]), new Dictionary<string, JsonElement> { ["answer"] = answer }))
            .ToList();
        var output = Directory.CreateTempSubdirectory("grpo-bench-");
        try
        {
            var options = new GrpoOptions
            {
                NumGenerations = generations,
                MaxCompletionLength = completionLength,
                PromptsPerStep = 1,
                MaxSteps = steps,
                Beta = 0.04,
                LearningRate = 1e-6,
                OutputDir = output.FullName,
                SaveSteps = int.MaxValue,
            };
            var cpuAtStep = new List<TimeSpan> { CpuTime() };
            using var trainer = new GrpoTrainer(model, tokenizer, [new MathAnswerReward()], options, lora) { OnStep = _ => cpuAtStep.Add(CpuTime()) };
            var history = await trainer.TrainAsync(problems, cancellationToken: cancellationToken);
            return history.Select((m, i) => (m, (cpuAtStep[i + 1] - cpuAtStep[i]).TotalSeconds)).Skip(1).MinBy(x => x.Item2);
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
