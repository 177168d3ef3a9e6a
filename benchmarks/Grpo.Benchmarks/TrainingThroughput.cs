using System.Diagnostics;
using Grpo.Lora;
using Grpo.Modeling;
using Grpo.Training;
using static TorchSharp.torch;

namespace Grpo.Benchmarks;

/// <summary>
/// The policy pass of a GRPO step alone: forward of B rows of prompt + completion through a LoRA-adapted model,
/// chunked log-probs of the completion tokens (<see cref="TokenLogProbs"/>, as the trainer computes them), backward
/// into the adapters. No optimizer step: its cost is per adapter weight, not per token.
/// </summary>
internal static class TrainingThroughput
{
    /// <summary>Seconds of one forward + backward, the median of <paramref name="repeats"/> after a warm-up pass.</summary>
    public static double Seconds(ModelConfig config, ScalarType dtype, int loraRank, int rows, int prompt, int completion, int repeats) =>
        Passes(config, dtype, loraRank, rows, prompt, completion, repeats).Order().ElementAt(repeats / 2);

    /// <summary>Seconds of each of <paramref name="repeats"/> forward + backward passes after a warm-up pass.</summary>
    public static double[] Passes(ModelConfig config, ScalarType dtype, int loraRank, int rows, int prompt, int completion, int repeats)
    {
        using var model = CausalLM.Create(config, seed: 0, dtype: dtype);
        var lora = LoraModel.Apply(model, new LoraOptions { Rank = loraRank, Alpha = 2 * loraRank });
        model.train();
        using var generator = new Generator(1);
        using var inputIds = randint(config.VocabSize, [rows, prompt + completion], generator: generator);   // [B, P + C]
        using var targets = inputIds.narrow(1, prompt, completion).clone();   // [B, C]: each completion token, predicted from the state before it

        double Pass()
        {
            var watch = Stopwatch.StartNew();
            using (NewDisposeScope())
            {
                var hidden = model.HiddenStates(inputIds);   // [B, P + C, H]
                var predicting = hidden.narrow(1, prompt - 1, completion);   // [B, C, H]
                var logProbs = TokenLogProbs.Compute(predicting, model.LmHeadWeight, null, targets);   // [B, C]
                logProbs.sum().backward();
            }
            var seconds = watch.Elapsed.TotalSeconds;
            foreach (var p in lora.TrainableParameters()) p.grad?.zero_();
            return seconds;
        }

        Pass();
        return Enumerable.Range(0, repeats).Select(_ => Pass()).ToArray();
    }
}
