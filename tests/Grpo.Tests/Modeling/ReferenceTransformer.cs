using TorchSharp;
using static TorchSharp.torch;

namespace Grpo.Tests.Modeling;

/// <summary>
/// A deliberately plain float64 re-implementation of the decoder for one unpadded batch: per-head loops with the
/// K/V head picked by index (no reshapes or SDPA), rotations applied pair by pair from angles computed on the host
/// with <see cref="HandRope"/>, weights read from the state dict by their Hugging Face names.
/// </summary>
internal static class ReferenceTransformer
{
    public static Tensor Logits(Grpo.Modeling.CausalLM model, Tensor ids)
    {
        using var noGrad = no_grad();
        using var scope = NewDisposeScope();
        var c = model.Config;
        var sd = model.state_dict();
        Tensor W(string name) => sd[name].to(ScalarType.Float64);
        Tensor Lin(Tensor x, string prefix) =>
            sd.ContainsKey(prefix + ".bias") ? x.matmul(W(prefix + ".weight").t()) + W(prefix + ".bias") : x.matmul(W(prefix + ".weight").t());
        Tensor Rms(Tensor x, string weight) => x / (x.pow(2).mean([-1], keepdim: true) + c.RmsNormEps).sqrt() * W(weight);

        long batch = ids.shape[0], T = ids.shape[1];
        int hd = c.HeadDim, half = hd / 2, group = c.NumAttentionHeads / c.NumKeyValueHeads;
        var invFreq = HandRope.InvFreq(c, T);
        double factor = HandRope.AttentionFactor(c);
        var cosArr = new double[T * half];
        var sinArr = new double[T * half];
        for (int t = 0; t < T; t++)
            for (int i = 0; i < half; i++)
            {
                cosArr[t * half + i] = Math.Cos(t * invFreq[i]) * factor;
                sinArr[t * half + i] = Math.Sin(t * invFreq[i]) * factor;
            }
        var cos = tensor(cosArr, [T, half]);
        var sin = tensor(sinArr, [T, half]);
        Tensor Rotate(Tensor x)   // x [T, hd]: pair (i, i + half) rotated by the angle of its position
        {
            var a = x.narrow(1, 0, half);
            var b = x.narrow(1, half, half);
            return cat([a * cos - b * sin, b * cos + a * sin], 1);
        }
        var causal = ones(T, T, dtype: ScalarType.Bool).triu(1);

        var rows = new List<Tensor>();
        for (long r = 0; r < batch; r++)
        {
            var x = W("model.embed_tokens.weight").index_select(0, ids[r]);   // [T, hidden]
            for (int l = 0; l < c.NumHiddenLayers; l++)
            {
                var p = $"model.layers.{l}.";
                var h = Rms(x, p + "input_layernorm.weight");
                var q = Lin(h, p + "self_attn.q_proj");
                var k = Lin(h, p + "self_attn.k_proj");
                var v = Lin(h, p + "self_attn.v_proj");
                var heads = new List<Tensor>();
                for (int head = 0; head < c.NumAttentionHeads; head++)
                {
                    int kvHead = head / group;
                    var qh = q.narrow(1, head * hd, hd);
                    var kh = k.narrow(1, kvHead * hd, hd);
                    var vh = v.narrow(1, kvHead * hd, hd);
                    if (c.QkNorm)
                    {
                        qh = Rms(qh, p + "self_attn.q_norm.weight");
                        kh = Rms(kh, p + "self_attn.k_norm.weight");
                    }
                    var scores = Rotate(qh).matmul(Rotate(kh).t()) / Math.Sqrt(hd);
                    heads.Add(scores.masked_fill(causal, double.NegativeInfinity).softmax(-1).matmul(vh));
                }
                x = x + Lin(cat(heads, 1), p + "self_attn.o_proj");
                var h2 = Rms(x, p + "post_attention_layernorm.weight");
                var gate = Lin(h2, p + "mlp.gate_proj");
                x = x + Lin(gate * gate.sigmoid() * Lin(h2, p + "mlp.up_proj"), p + "mlp.down_proj");
            }
            x = Rms(x, "model.norm.weight");
            var head0 = sd.ContainsKey("lm_head.weight") ? W("lm_head.weight") : W("model.embed_tokens.weight");
            rows.Add(x.matmul(head0.t()));
        }
        return stack(rows).MoveToOuterDisposeScope();
    }
}
