using Grpo.Modeling;
using static TorchSharp.torch;

namespace Grpo.GpuCheck;

/// <summary>
/// The model and batch of the speed run. <see cref="Qwen05B"/> is Qwen2.5-0.5B's exact architecture (494M weights,
/// vocabulary 151,936, tied head) with random weights in bfloat16, LoRA r16 on the seven projections, and the README
/// example's batch: 4 prompts × 8 completions × 256 new tokens, EOS off so every completion has that length.
/// <see cref="Tiny"/> runs the same code on a tiny model so CI covers it on the CPU.
/// </summary>
/// <param name="Name">The name <c>--shape</c> takes.</param>
/// <param name="Config">The architecture.</param>
/// <param name="Dtype">The base weights' dtype (the adapters take it too).</param>
/// <param name="LoraRank">r; alpha is 2r, as in the README example.</param>
/// <param name="Prompts">Prompts per step.</param>
/// <param name="Generations">Completions per prompt (G).</param>
/// <param name="PromptLength">Tokens per prompt (P).</param>
/// <param name="CompletionLength">New tokens per completion (C).</param>
internal sealed record SpeedShape(
    string Name, ModelConfig Config, ScalarType Dtype, int LoraRank, int Prompts, int Generations, int PromptLength, int CompletionLength)
{
    /// <summary>Qwen2.5-0.5B's config.json (hidden 896, 24 layers, 14 query / 2 key-value heads, SwiGLU 4864).</summary>
    public static readonly SpeedShape Qwen05B = new(
        "qwen2.5-0.5b",
        new ModelConfig
        {
            ModelType = "qwen2",
            VocabSize = 151_936,
            HiddenSize = 896,
            IntermediateSize = 4864,
            NumHiddenLayers = 24,
            NumAttentionHeads = 14,
            NumKeyValueHeads = 2,
            MaxPositionEmbeddings = 32768,
            RmsNormEps = 1e-6,
            RopeTheta = 1_000_000,
            TieWordEmbeddings = true,
            TorchDtype = "bfloat16",
        },
        ScalarType.BFloat16, LoraRank: 16, Prompts: 4, Generations: 8, PromptLength: 128, CompletionLength: 256);

    /// <summary>A tiny Qwen2-shaped model and batch: the speed run's code path in seconds on a CPU.</summary>
    public static readonly SpeedShape Tiny = new(
        "tiny", ModelConfig.Tiny("qwen2"), ScalarType.BFloat16, LoraRank: 4, Prompts: 2, Generations: 2, PromptLength: 8, CompletionLength: 8);

    /// <summary>Rows per step: prompts × generations.</summary>
    public int Rows => Prompts * Generations;

    /// <summary>The shape called <paramref name="name"/>.</summary>
    public static SpeedShape Named(string name) => name switch
    {
        "qwen2.5-0.5b" => Qwen05B,
        "tiny" => Tiny,
        _ => throw new ArgumentException($"--shape '{name}' is not known; use qwen2.5-0.5b or tiny. {CheckOptions.Usage}"),
    };
}
