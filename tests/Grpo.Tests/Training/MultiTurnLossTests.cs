using System.Text.Json;
using Grpo.Data;
using Grpo.Lora;
using Grpo.Modeling;
using Grpo.Rewards;
using Grpo.Sampling;
using Grpo.Tests.Sampling;
using Grpo.Training;
using Microsoft.Extensions.AI;
using static TorchSharp.torch;
using AIChatMessage = Microsoft.Extensions.AI.ChatMessage;

namespace Grpo.Tests.Training;

/// <summary>
/// A step over multi-turn completions: the loss, entropy and lengths count only the policy's tokens (TRL's tool
/// mask), checked against a float64 computation by hand from the model's own logits.
/// </summary>
[Collection(nameof(GlobalRandomState))]
public class MultiTurnLossTests
{
    /// <summary>Replays fixed completions, as the in-process engine would have sampled them.</summary>
    sealed class Replayed(IReadOnlyList<Completion> completions) : IRolloutSource
    {
        public bool LogProbsMatchTrainer => true;
        public Task<IReadOnlyList<Completion>> GenerateAsync(RolloutRequest request, CancellationToken cancellationToken = default) => Task.FromResult(completions);
    }

    sealed class Length : RewardFunction
    {
        public override string Name => "length";
        public override double Score(RewardInput input) => input.CompletionIds.Count;
    }

    [Fact]
    public void TheLossEntropyAndLengthsOfAMultiTurnBatchCountOnlyPolicyTokens()
    {
        var random = new Random(5);
        // Per completion: runs of (policy?, count); null = a single-turn completion with no mask.
        (bool Policy, int Count)[]?[] shapes =
        [
            [(true, 2), (false, 3), (true, 1)],
            null,
            [(true, 1), (false, 2), (true, 1)],
            [(true, 3), (false, 5), (true, 3)],
        ];
        int[] lengths = [6, 9, 4, 11];
        var completions = shapes.Select((shape, i) =>
        {
            var ids = Enumerable.Range(0, lengths[i]).Select(_ => random.Next(256)).ToArray();
            bool[]? mask = shape?.SelectMany(run => Enumerable.Repeat(run.Policy, run.Count)).ToArray();
            return new Completion(i / 2, i % 2, ids, new ByteTokenizer().Decode(ids), new float[ids.Length], FinishReason.Eos)
            {
                PolicyTokenMask = mask,
                ToolCalls = mask is null ? 0 : 1,
                ToolFailures = i == 2 ? 1 : 0,
                Messages = [new AIChatMessage(ChatRole.Assistant, "")],
            };
        }).ToList();
        Problem[] problems = [new("ab", new Dictionary<string, JsonElement>()), new("cd", new Dictionary<string, JsonElement>())];
        var prompts = problems.Select(p => new ByteTokenizer().Encode(p.Prompt)).ToList();

        var model = CausalLM.Create(ModelConfig.Tiny("qwen3", vocabSize: 257), seed: 3);
        var lora = LoraModel.Apply(model, new LoraOptions { Rank = 4 });
        var options = new GrpoOptions { NumGenerations = 2, PromptsPerStep = 2, MaxCompletionLength = 12, LearningRate = 1e-3, Beta = 0 };

        // By hand, before the update changes the weights: per-token entropy from the model's logits in float64.
        var policy = completions.Select(c => Enumerable.Range(0, c.TokenIds.Length).Select(t => c.PolicyTokenMask?[t] ?? true).ToArray()).ToArray();
        double entropySum = 0;
        for (int i = 0; i < 4; i++)
        {
            var sequence = prompts[i / 2].Concat(completions[i].TokenIds).Select(x => (long)x).ToArray();
            using var noGrad = no_grad();
            using var logits = model.forward(tensor(sequence).unsqueeze(0)).to(ScalarType.Float64);
            var values = logits.data<double>().ToArray();
            int vocab = 257, p = prompts[i / 2].Length;
            for (int t = 0; t < lengths[i]; t++)
            {
                if (!policy[i][t]) continue;
                var row = values.AsSpan((p - 1 + t) * vocab, vocab).ToArray();
                double max = row.Max(), z = row.Sum(v => Math.Exp(v - max));
                entropySum -= row.Sum(v => Math.Exp(v - max) / z * (v - max - Math.Log(z)));
            }
        }
        var n = policy.Select(m => m.Count(x => x)).ToArray();   // policy tokens: 3, 9, 2, 6
        Assert.Equal([3, 9, 2, 6], n);
        // Group-relative advantages of the rewards (total lengths), TRL's (r - mean) / (std + 1e-4), std unbiased.
        var advantages = new double[4];
        for (int group = 0; group < 2; group++)
        {
            double a = lengths[2 * group], b = lengths[2 * group + 1], mean = (a + b) / 2, std = Math.Abs(a - b) / Math.Sqrt(2);
            (advantages[2 * group], advantages[2 * group + 1]) = ((a - mean) / (std + 1e-4), (b - mean) / (std + 1e-4));
        }
        // One update on its own rollout: the ratio is 1, and DAPO's loss is −Σ A·n / Σ n over policy tokens.
        double expectedLoss = -Enumerable.Range(0, 4).Sum(i => advantages[i] * n[i]) / n.Sum();

        using var optimizer = new PolicyOptimizer(lora.TrainableParameters(), options);
        var step = new GrpoStep(model, new Replayed(completions), new RewardRunner([new Length()]), new GrpoLoss(GrpoLossSettings.From(options)), optimizer, null, options);
        var metrics = step.Run(problems, prompts, new GrpoStepContext(1, 1, 1e-3, Seed: 1));

        Assert.Equal(expectedLoss, metrics.Loss, 5);
        double unmasked = -Enumerable.Range(0, 4).Sum(i => advantages[i] * lengths[i]) / lengths.Sum();
        Assert.True(Math.Abs(unmasked - expectedLoss) > 0.05, "the test needs masks that change the loss");
        Assert.Equal(entropySum / n.Sum(), metrics.Entropy!.Value, 4);
        Assert.Equal(n.Average(), metrics.MeanCompletionLength, 9);
        Assert.Equal((n.Min(), n.Max()), (metrics.MinCompletionLength, metrics.MaxCompletionLength));
        var logged = metrics.ToDictionary();
        Assert.Equal(3 / 4.0, logged["tools/call_frequency"], 12);
        Assert.Equal(1 / 3.0, logged["tools/failure_frequency"], 12);
    }
}
