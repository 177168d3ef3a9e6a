using System.Text.Json;
using Grpo.Benchmarks;
using Grpo.Data;
using Grpo.Lora;
using Grpo.Modeling;
using Grpo.Rewards;
using Grpo.Sampling;
using Grpo.Training;

namespace Grpo.GpuCheck;

/// <summary>
/// The GRPO step that both <see cref="StepParity"/> and <see cref="SpeedRun"/> run: <see cref="EvenTokenShare"/> as the
/// one reward, the options' loss, and the adapter-off base as the KL reference; and the dataset rows of prompts given
/// as token ids.
/// </summary>
internal static class CheckStep
{
    /// <summary>A <see cref="GrpoStep"/> of the LoRA <paramref name="lora"/> on <paramref name="model"/>, sampling from <paramref name="rollouts"/>.</summary>
    public static GrpoStep Create(CausalLM model, LoraModel lora, IRolloutSource rollouts, PolicyOptimizer optimizer, GrpoOptions options) =>
        new(model, rollouts, new RewardRunner([new EvenTokenShare()]), new GrpoLoss(GrpoLossSettings.From(options)), optimizer,
            KlReference.AdapterOff(model, lora), options);

    /// <summary>One row per prompt, its text the ids written out; the reward reads no field.</summary>
    public static List<Problem> Problems(IdTokenizer tokenizer, IEnumerable<int[]> prompts) =>
        prompts.Select(p => new Problem(tokenizer.Decode(p), new Dictionary<string, JsonElement>())).ToList();
}
