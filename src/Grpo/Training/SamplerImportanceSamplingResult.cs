using static TorchSharp.torch;

namespace Grpo.Training;

/// <summary>The sampler-mismatch weight of one micro-batch and its partial statistics.</summary>
/// <param name="Ratio">[B, T] (token modes) or [B, 1] (sequence modes) weight, no gradient.</param>
/// <param name="Stats">Sums, counts and extremes to merge over the generation batch.</param>
public sealed record SamplerImportanceSamplingResult(Tensor Ratio, SamplerImportanceSamplingStats Stats);
