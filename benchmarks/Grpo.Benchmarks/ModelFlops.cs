using Grpo.Modeling;

namespace Grpo.Benchmarks;

/// <summary>
/// Model FLOPs and bytes of a decoder with LoRA adapters on its seven projections, counted from the shapes the standard
/// way (Kaplan et al. 2020, "Scaling Laws for Neural Language Models"; Chowdhery et al. 2022, PaLM, appendix B):
/// a multiply-add is 2 FLOPs, a token costs 2 FLOPs per weight it passes forward, and attention costs 4·dq·T per token
/// and layer forward (QKᵀ and AV over T positions, dq = heads·head_dim). Norms, RoPE, softmax and the embedding lookup
/// are left out; so are recomputations (the chunked log-probs recompute the head's logits in backward): these are the
/// FLOPs the model needs, the numerator of model FLOPs utilisation.
/// </summary>
/// <remarks>
/// Full fine-tuning costs the familiar 6N per token (forward 2N, backward 2N for activations and 2N for weight
/// gradients). With LoRA the base weights are frozen, so their weight gradients are never formed: 4N per token for the
/// frozen weights, 6 per adapter weight, and attention 3 × 4·dq·T (its backward has no weights, only activations, at
/// twice the forward). Training a batch of B rows of T tokens whose last C are the completion:
/// B·T·(4·N + 6·N_lora + 12·L·dq·T) + B·C·4·V·H, the head (frozen, V·H weights) running only over completion tokens.
/// </remarks>
/// <param name="LayerWeights">N: weights of every layer's seven projections.</param>
/// <param name="HeadWeights">V·H: the LM head.</param>
/// <param name="LoraWeights">N_lora: r·(in + out) per projection.</param>
/// <param name="Layers">L.</param>
/// <param name="QueryWidth">dq = heads·head_dim.</param>
/// <param name="KvWidth">kv_heads·head_dim: the width of each of K and V in the cache.</param>
internal sealed record ModelFlops(long LayerWeights, long HeadWeights, long LoraWeights, int Layers, int QueryWidth, int KvWidth)
{
    public static ModelFlops Of(ModelConfig c, int loraRank)
    {
        long h = c.HiddenSize, i = c.IntermediateSize, q = (long)c.NumAttentionHeads * c.HeadDim, kv = (long)c.NumKeyValueHeads * c.HeadDim;
        // (in, out) of q, k, v, o, gate, up, down.
        (long In, long Out)[] projections = [(h, q), (h, kv), (h, kv), (q, h), (h, i), (h, i), (i, h)];
        return new ModelFlops(
            LayerWeights: c.NumHiddenLayers * projections.Sum(p => p.In * p.Out),
            HeadWeights: (long)c.VocabSize * h,
            LoraWeights: c.NumHiddenLayers * projections.Sum(p => loraRank * (p.In + p.Out)),
            Layers: c.NumHiddenLayers,
            QueryWidth: (int)q,
            KvWidth: (int)kv);
    }

    /// <summary>One forward + backward of B rows of T tokens with LoRA, log-probs over the last C (see remarks).</summary>
    public double LoraTraining(long rows, long length, long completion) =>
        rows * length * (4.0 * LayerWeights + 6.0 * LoraWeights + 12.0 * Layers * QueryWidth * length)
        + rows * completion * 4.0 * HeadWeights;

    /// <summary>One forward of B rows of T tokens, adapters off, log-probs over the last C: the reference pass.</summary>
    public double ReferenceForward(long rows, long length, long completion) =>
        rows * length * (2.0 * LayerWeights + 4.0 * Layers * QueryWidth * length) + rows * completion * 2.0 * HeadWeights;

    /// <summary>
    /// Sampling C tokens for B rows after a P-token prompt with the KV cache: the prefill (P tokens attending to P) and
    /// C decode steps, step t attending to P + t positions; adapters on (unmerged), head over each new token.
    /// </summary>
    public double Sampling(long rows, long prompt, long completion) =>
        rows * prompt * (2.0 * (LayerWeights + LoraWeights) + 4.0 * Layers * QueryWidth * prompt)
        + rows * (completion * 2.0 * (LayerWeights + LoraWeights + HeadWeights)
                  + 4.0 * Layers * QueryWidth * (completion * prompt + completion * (completion + 1) / 2.0));

    /// <summary>
    /// Bytes one decode step must read at least: every layer weight, adapter and the head once (a step's B rows share
    /// them), plus the K and V cache of every row at <paramref name="context"/> positions.
    /// </summary>
    public double DecodeStepBytes(long rows, double context, int bytesPerValue) =>
        bytesPerValue * (LayerWeights + LoraWeights + HeadWeights + 2.0 * Layers * KvWidth * context * rows);

    /// <summary>Decode FLOPs per new token at <paramref name="context"/> positions.</summary>
    public double DecodeTokenFlops(double context) =>
        2.0 * (LayerWeights + LoraWeights + HeadWeights) + 4.0 * Layers * QueryWidth * context;

    /// <summary>One GRPO step's model FLOPs: sampling, reference forward (when β &gt; 0), policy forward + backward.</summary>
    public double GrpoStep(long rows, long prompt, long completion, bool reference) =>
        Sampling(rows, prompt, completion)
        + (reference ? ReferenceForward(rows, prompt + completion, completion) : 0)
        + LoraTraining(rows, prompt + completion, completion);
}
