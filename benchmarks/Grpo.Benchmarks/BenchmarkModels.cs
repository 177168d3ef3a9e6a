using Grpo.Modeling;

namespace Grpo.Benchmarks;

/// <summary>
/// The model shapes the harnesses share, with Qwen3's flags (q/k norm, grouped-query attention, untied head) and
/// random weights: no checkpoint is needed, and the cost of a forward pass depends only on the shapes.
/// </summary>
internal static class BenchmarkModels
{
    /// <summary>About 19M parameters: 8 layers of width 384 (12.6M in the layers), vocabulary 8192 (3.1M each for embedding and head).</summary>
    public static ModelConfig Small => ModelConfig.Tiny("qwen3", vocabSize: 8192) with
    {
        HiddenSize = 384, IntermediateSize = 1024, NumHiddenLayers = 8, NumAttentionHeads = 6, NumKeyValueHeads = 2, HeadDim = 64,
    };

    /// <summary>About 101M parameters: 12 layers of width 768 (75.5M in the layers), vocabulary 16384 (12.6M each for embedding and head).</summary>
    public static ModelConfig Medium => ModelConfig.Tiny("qwen3", vocabSize: 16384) with
    {
        HiddenSize = 768, IntermediateSize = 2048, NumHiddenLayers = 12, NumAttentionHeads = 12, NumKeyValueHeads = 4, HeadDim = 64,
    };

    /// <summary>
    /// Qwen2.5-0.5B's exact shape (494M weights: 358M in 24 layers of width 896, a tied 136M embedding over 151,936
    /// tokens; 14 query and 2 key/value heads of 64, q/k/v bias, RoPE θ = 10⁶), built with random weights at run time:
    /// memory and speed depend on the shapes only, and nothing is downloaded or stored.
    /// </summary>
    public static ModelConfig Qwen25HalfB => new()
    {
        ModelType = "qwen2", VocabSize = 151_936, HiddenSize = 896, IntermediateSize = 4864, NumHiddenLayers = 24,
        NumAttentionHeads = 14, NumKeyValueHeads = 2, HeadDim = 64, RopeTheta = 1_000_000, TieWordEmbeddings = true,
        MaxPositionEmbeddings = 32_768, RmsNormEps = 1e-6,
    };

    /// <summary>The shape named on the command line: 20m, 100m or qwen2.5-0.5b.</summary>
    public static ModelConfig ByName(string name) => name switch
    {
        "20m" => Small,
        "100m" => Medium,
        "qwen2.5-0.5b" => Qwen25HalfB,
        _ => throw new ArgumentException($"Unknown shape '{name}'; use 20m, 100m or qwen2.5-0.5b."),
    };
}
