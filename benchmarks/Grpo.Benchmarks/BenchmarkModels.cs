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
}
