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
/// selection for new shapes) and is left out; of the rest the fastest is reported, as the ceilings are best-of too
/// (on a shared machine the slower steps measure the neighbours).
/// </summary>
internal static class GrpoStepTimings
{
    public const int PromptLength = 32;
    public const int LoraRank = 16;

    /// <summary>The metrics of the fastest of <paramref name="steps"/> steps but the first (so at least 2).</summary>
    public static async Task<GrpoStepMetrics> FastestStep(ModelConfig config, int generations, int completionLength, int steps, CancellationToken cancellationToken)
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
            using var trainer = new GrpoTrainer(model, tokenizer, [new MathAnswerReward()], options, lora);
            var history = await trainer.TrainAsync(problems, cancellationToken: cancellationToken);
            return history.Skip(1).MinBy(m => m.StepSeconds)!;
        }
        finally
        {
            output.Delete(recursive: true);
        }
    }
}
