using System.Text.Json;
using Grpo.Data;
using Grpo.Lora;
using Grpo.Modeling;
using Grpo.Rewards;
using Grpo.Sampling;
using Grpo.Tests.Sampling;
using Grpo.Training;

namespace Grpo.Tests.Training;

/// <summary>The step with another rollout engine behind the seam: the sampler-mismatch correction and its metrics.</summary>
[Collection(nameof(GlobalRandomState))]
public class GrpoStepTests
{
    const float Shift = 0.1f;

    /// <summary>An engine whose log-probs are the model's own plus <see cref="Shift"/> per token, as a server's would differ.</summary>
    sealed class ShiftedEngine(IRolloutSource inner) : IRolloutSource
    {
        public bool LogProbsMatchTrainer => false;
        public async Task<IReadOnlyList<Completion>> GenerateAsync(RolloutRequest request, CancellationToken cancellationToken = default) =>
            (await inner.GenerateAsync(request, cancellationToken)).Select(c => c with { LogProbs = c.LogProbs.Select(l => l + Shift).ToArray() }).ToList();
    }

    sealed class Constant : RewardFunction
    {
        public override string Name => "length";
        public override double Score(RewardInput input) => input.CompletionIds.Count;
    }

    static GrpoStepMetrics RunStep(bool otherEngine, GrpoOptions options, out IReadOnlyList<Completion> completions)
    {
        var model = CausalLM.Create(ModelConfig.Tiny("qwen3", vocabSize: 257), seed: 3);
        var lora = LoraModel.Apply(model, new LoraOptions { Rank = 4 });
        using var inProcess = new InProcessRollouts(model, new ByteTokenizer(), new SamplingOptions { MaxNewTokens = options.MaxCompletionLength });
        IRolloutSource rollouts = otherEngine ? new ShiftedEngine(inProcess) : inProcess;
        using var optimizer = new PolicyOptimizer(lora.TrainableParameters(), options);
        var step = new GrpoStep(model, rollouts, new RewardRunner([new Constant()]), new GrpoLoss(GrpoLossSettings.From(options)), optimizer, null, options);
        Problem[] problems = [new("a", new Dictionary<string, JsonElement>()), new("b", new Dictionary<string, JsonElement>())];
        var prompts = problems.Select(p => new ByteTokenizer().Encode(p.Prompt)).ToList();
        completions = rollouts.GenerateAsync(new RolloutRequest(prompts, options.NumGenerations, Seed: 9)).GetAwaiter().GetResult();
        return step.Run(problems, prompts, new GrpoStepContext(1, 1, 1e-3, Seed: 9));
    }

    static readonly GrpoOptions Options = new() { NumGenerations = 4, PromptsPerStep = 2, MaxCompletionLength = 5, LearningRate = 1e-3 };

    [Fact]
    public void AnotherEnginesLogProbsAreCorrectedForAndTheMismatchIsLogged()
    {
        var metrics = RunStep(otherEngine: true, Options, out var completions);

        // The trainer's own pass reproduces the model's log-probs, so each token differs from the engine's by the shift,
        // and a sequence's weight is exp(-shift × its length) (sequence_mask, all below the 3.0 cap).
        var weights = completions.Select(c => Math.Exp(-Shift * c.TokenIds.Length)).ToArray();
        Assert.Equal(Shift, metrics.Objective["sampling/sampling_logp_difference/mean"], 4);
        Assert.Equal(Shift, metrics.Objective["sampling/sampling_logp_difference/max"], 4);
        Assert.Equal(weights.Min(), metrics.Objective["sampling/importance_sampling_ratio/min"], 4);
        Assert.Equal(weights.Average(), metrics.Objective["sampling/importance_sampling_ratio/mean"], 4);
        Assert.Equal(weights.Max(), metrics.Objective["sampling/importance_sampling_ratio/max"], 4);
    }

    [Fact]
    public void TheInProcessSamplerNeedsNoCorrection()
    {
        var metrics = RunStep(otherEngine: false, Options, out _);
        Assert.DoesNotContain(metrics.Objective.Keys, k => k.StartsWith("sampling/", StringComparison.Ordinal));
        Assert.False(RunStep(otherEngine: true, Options with { SamplerImportanceSamplingCorrection = false }, out _)
            .Objective.ContainsKey("sampling/importance_sampling_ratio/mean"));
    }
}
