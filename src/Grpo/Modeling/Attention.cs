using TorchSharp;
using static TorchSharp.torch;

namespace Grpo.Modeling;

/// <summary>
/// Causal self-attention with grouped-query heads, RoPE, optional q/k RMSNorm (Qwen3) and an optional KV cache.
/// Submodule names are Hugging Face's (<c>q_proj</c>, <c>k_proj</c>, <c>v_proj</c>, <c>o_proj</c>, <c>q_norm</c>, <c>k_norm</c>).
/// </summary>
public sealed class Attention : nn.Module
{
#pragma warning disable IDE1006
    private readonly Linear q_proj, k_proj, v_proj, o_proj;
    private readonly RmsNorm? q_norm, k_norm;
#pragma warning restore IDE1006
    private readonly int _layerIndex, _heads, _kvHeads, _headDim;

    /// <summary>The attention of layer <paramref name="layerIndex"/> (the index picks its slot in a <see cref="KvCache"/>).</summary>
    public Attention(ModelConfig config, int layerIndex, ScalarType dtype, Device device) : base(nameof(Attention))
    {
        _layerIndex = layerIndex;
        _heads = config.NumAttentionHeads;
        _kvHeads = config.NumKeyValueHeads;
        _headDim = config.HeadDim;
        q_proj = new Linear(config.HiddenSize, _heads * _headDim, config.QkvBias, dtype, device);
        k_proj = new Linear(config.HiddenSize, _kvHeads * _headDim, config.QkvBias, dtype, device);
        v_proj = new Linear(config.HiddenSize, _kvHeads * _headDim, config.QkvBias, dtype, device);
        o_proj = new Linear(_heads * _headDim, config.HiddenSize, config.OutputBias, dtype, device);
        if (config.QkNorm)
        {
            q_norm = new RmsNorm(_headDim, config.RmsNormEps, dtype, device);
            k_norm = new RmsNorm(_headDim, config.RmsNormEps, dtype, device);
        }
        RegisterComponents();
    }

    /// <summary>
    /// x [B, T, hidden] -> [B, T, hidden]. cos/sin [B or 1, 1, T, head_dim] from <see cref="RotaryEmbedding.CosSin"/>;
    /// mask [B or 1, 1, (heads / kv_heads) T or 1, keys], additive (0 or -inf) or boolean (true = may attend), laid out
    /// for the grouped query axis as <see cref="DecoderModel"/> builds it. With a cache, the keys are the slots' own
    /// (<see cref="KvCache.Update"/>), and the mask hides each slot's positions past its length.
    /// </summary>
    public Tensor Forward(Tensor x, Tensor cos, Tensor sin, Tensor mask, KvCache? cache)
    {
        using var scope = NewDisposeScope();
        long b = x.shape[0], t = x.shape[1];
        var q = q_proj.forward(x).view(b, t, _heads, _headDim);
        var k = k_proj.forward(x).view(b, t, _kvHeads, _headDim);
        var v = v_proj.forward(x).view(b, t, _kvHeads, _headDim).transpose(1, 2);
        if (q_norm is not null)
        {
            q = q_norm.forward(q);
            k = k_norm!.forward(k);
        }
        q = RotaryEmbedding.Apply(q.transpose(1, 2), cos, sin);   // [B, heads, T, D]
        k = RotaryEmbedding.Apply(k.transpose(1, 2), cos, sin);   // [B, kv_heads, T, D]
        if (cache is not null) (k, v) = cache.Update(_layerIndex, k, v);   // [B, kv_heads, past + T, D]

        // Grouped-query attention without copying K/V per query head: query head h uses kv head h / group, so the
        // group's heads are stacked along the query axis ([B, kv_heads, group T, D]) and attend to one K/V head.
        int group = _heads / _kvHeads;
        var grouped = q.reshape(b, _kvHeads, group * t, _headDim);
        var attended = nn.functional.scaled_dot_product_attention(grouped, k, v, mask);   // scale 1/sqrt(D)
        var merged = attended.reshape(b, _heads, t, _headDim).transpose(1, 2).reshape(b, t, _heads * _headDim);
        return o_proj.forward(merged).MoveToOuterDisposeScope();
    }
}
