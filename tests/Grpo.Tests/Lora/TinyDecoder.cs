using Grpo.Modeling;
using TorchSharp;
using TorchSharp.Modules;
using static TorchSharp.torch;
using Linear = Grpo.Modeling.Linear;

namespace Grpo.Tests.Lora;

/// <summary>
/// A stand-in for a Hugging Face decoder with the same module paths (model.embed_tokens, model.layers.N.self_attn.
/// q/k/v/o_proj, model.layers.N.mlp.gate/up/down_proj, lm_head) built of <see cref="Linear"/>, with nonlinearities
/// between the projections. Default sizes are those of the qwen3-qknorm-tied fixture: hidden 32, q 32, k/v 16, MLP 64.
/// </summary>
public sealed class TinyDecoder : nn.Module<Tensor, Tensor>
{
    public const int Vocab = 128;
#pragma warning disable IDE1006
    public readonly Body model;
    public readonly Linear lm_head;
#pragma warning restore IDE1006

    public TinyDecoder(int hidden = 32, int qOut = 32, int kvOut = 16, int intermediate = 64, int layers = 2, long seed = 1)
        : base(nameof(TinyDecoder))
    {
        model = new Body(hidden, qOut, kvOut, intermediate, layers);
        lm_head = Proj(hidden, Vocab);
        RegisterComponents();
        // Same seed, same weights: tests build identical twins this way. Scaled by 1/sqrt(fan-in) so activations stay O(1).
        using var noGrad = no_grad();
        var generator = new Generator().manual_seed(seed);
        foreach (var p in parameters()) p.copy_(randn(p.shape, generator: generator).div_(Math.Sqrt(p.shape[^1])));
    }

    /// <summary>ids: [batch, time] -> logits: [batch, time, vocab]</summary>
    public override Tensor forward(Tensor ids)
    {
        using var scope = NewDisposeScope();
        var x = model.forward(ids);
        return lm_head.forward(x).MoveToOuterDisposeScope();
    }

    public sealed class Body : nn.Module<Tensor, Tensor>
    {
#pragma warning disable IDE1006
        public readonly Embedding embed_tokens;
        public readonly ModuleList<Block> layers;
#pragma warning restore IDE1006

        public Body(int hidden, int qOut, int kvOut, int intermediate, int count) : base(nameof(Body))
        {
            embed_tokens = nn.Embedding(Vocab, hidden);
            layers = nn.ModuleList(Enumerable.Range(0, count).Select(_ => new Block(hidden, qOut, kvOut, intermediate)).ToArray());
            RegisterComponents();
        }

        public override Tensor forward(Tensor ids)
        {
            var x = embed_tokens.forward(ids);
            foreach (var layer in layers) x = layer.forward(x);
            return x;
        }
    }

    public sealed class Block : nn.Module<Tensor, Tensor>
    {
#pragma warning disable IDE1006
        public readonly Attention self_attn;
        public readonly Mlp mlp;
#pragma warning restore IDE1006

        public Block(int hidden, int qOut, int kvOut, int intermediate) : base(nameof(Block))
        {
            self_attn = new Attention(hidden, qOut, kvOut);
            mlp = new Mlp(hidden, intermediate);
            RegisterComponents();
        }

        public override Tensor forward(Tensor x)
        {
            x = x + self_attn.forward(x);
            return x + mlp.forward(x);
        }
    }

    /// <summary>Not attention, but every projection shaped and used as in one: o(tanh(q ⊙ k) + v), k and v repeated as in GQA.</summary>
    public sealed class Attention : nn.Module<Tensor, Tensor>
    {
#pragma warning disable IDE1006
        public readonly Linear q_proj, k_proj, v_proj, o_proj;
#pragma warning restore IDE1006
        readonly int groups;

        public Attention(int hidden, int qOut, int kvOut) : base(nameof(Attention))
        {
            q_proj = Proj(hidden, qOut);
            k_proj = Proj(hidden, kvOut);
            v_proj = Proj(hidden, kvOut);
            o_proj = Proj(qOut, hidden);
            groups = qOut / kvOut;
            RegisterComponents();
        }

        public override Tensor forward(Tensor x)
        {
            var q = q_proj.forward(x);
            var k = k_proj.forward(x).repeat_interleave(groups, -1);
            var v = v_proj.forward(x).repeat_interleave(groups, -1);
            return o_proj.forward(tanh(q * k) + v);
        }
    }

    public sealed class Mlp : nn.Module<Tensor, Tensor>
    {
#pragma warning disable IDE1006
        public readonly Linear gate_proj, up_proj, down_proj;
#pragma warning restore IDE1006

        public Mlp(int hidden, int intermediate) : base(nameof(Mlp))
        {
            gate_proj = Proj(hidden, intermediate);
            up_proj = Proj(hidden, intermediate);
            down_proj = Proj(intermediate, hidden);
            RegisterComponents();
        }

        public override Tensor forward(Tensor x) => down_proj.forward(nn.functional.silu(gate_proj.forward(x)) * up_proj.forward(x));
    }

    /// <summary>A bias-free float32 projection on the CPU, as in Llama and Qwen3.</summary>
    static Linear Proj(long inFeatures, long outFeatures) => new(inFeatures, outFeatures, hasBias: false, ScalarType.Float32, CPU);

    /// <summary>A fixed batch of token ids: [2, 5].</summary>
    public static Tensor SampleIds() => tensor(new long[] { 5, 17, 33, 9, 100, 1, 40, 41, 42, 127 }, 2, 5);
}
