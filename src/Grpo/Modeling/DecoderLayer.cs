using TorchSharp;
using static TorchSharp.torch;

namespace Grpo.Modeling;

/// <summary>One pre-norm transformer block: x + attn(norm(x)), then + mlp(norm(x)).</summary>
public sealed class DecoderLayer : nn.Module
{
#pragma warning disable IDE1006
    private readonly Attention self_attn;
    private readonly Mlp mlp;
    private readonly RmsNorm input_layernorm, post_attention_layernorm;
#pragma warning restore IDE1006

    /// <summary>Layer <paramref name="layerIndex"/> of a model with <paramref name="config"/>.</summary>
    public DecoderLayer(ModelConfig config, int layerIndex, ScalarType dtype, Device device) : base(nameof(DecoderLayer))
    {
        self_attn = new Attention(config, layerIndex, dtype, device);
        mlp = new Mlp(config, dtype, device);
        input_layernorm = new RmsNorm(config.HiddenSize, config.RmsNormEps, dtype, device);
        post_attention_layernorm = new RmsNorm(config.HiddenSize, config.RmsNormEps, dtype, device);
        RegisterComponents();
    }

    /// <summary>
    /// Whether a training forward pass with gradients (and no KV cache) recomputes this layer in the backward pass
    /// instead of keeping its activations (<see cref="ActivationCheckpoint"/>). Set for a whole model by
    /// <see cref="ActivationCheckpoint.Enable"/>.
    /// </summary>
    internal bool Checkpointed { get; set; }

    /// <summary>x [B, T, hidden] -> [B, T, hidden]; see <see cref="Attention.Forward"/> for the other arguments.</summary>
    public Tensor Forward(Tensor x, Tensor cos, Tensor sin, Tensor mask, KvCache? cache) =>
        Checkpointed && cache is null && training && is_grad_enabled()
            ? ActivationCheckpoint.Run(this, x, cos, sin, mask)
            : Block(x, cos, sin, mask, cache);

    /// <summary>The block itself, kept apart so that <see cref="ActivationCheckpoint"/> can run it again.</summary>
    internal Tensor Block(Tensor x, Tensor cos, Tensor sin, Tensor mask, KvCache? cache)
    {
        using var scope = NewDisposeScope();
        var h = x + self_attn.Forward(input_layernorm.forward(x), cos, sin, mask, cache);
        return (h + mlp.forward(post_attention_layernorm.forward(h))).MoveToOuterDisposeScope();
    }
}
