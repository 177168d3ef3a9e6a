using TorchSharp;
using TorchSharp.Modules;
using static TorchSharp.torch;

namespace Grpo.Modeling;

/// <summary>
/// The transformer body under the <c>model.</c> prefix of a Hugging Face checkpoint: token embedding, the decoder
/// layers and the final norm. Builds the attention mask and rotary angles once per forward pass for all layers.
/// </summary>
public sealed class DecoderModel : nn.Module
{
#pragma warning disable IDE1006
    private readonly Embedding embed_tokens;
    private readonly ModuleList<DecoderLayer> layers;
    private readonly RmsNorm norm;
    private readonly RotaryEmbedding rotary_emb;
#pragma warning restore IDE1006
    private readonly int _queryGroup;

    /// <summary>A body with uninitialised weights on <paramref name="device"/>; <see cref="CausalLM"/> fills them.</summary>
    public DecoderModel(ModelConfig config, ScalarType dtype, Device device) : base(nameof(DecoderModel))
    {
        embed_tokens = nn.Embedding(config.VocabSize, config.HiddenSize, device: device, dtype: dtype);
        layers = new ModuleList<DecoderLayer>(
            Enumerable.Range(0, config.NumHiddenLayers).Select(i => new DecoderLayer(config, i, dtype, device)).ToArray());
        norm = new RmsNorm(config.HiddenSize, config.RmsNormEps, dtype, device);
        rotary_emb = new RotaryEmbedding(config, device);
        _queryGroup = config.NumAttentionHeads / config.NumKeyValueHeads;
        RegisterComponents();
    }

    /// <summary>The token embedding matrix [vocab, hidden] (also the LM head when embeddings are tied).</summary>
    public Parameter EmbeddingWeight => embed_tokens.weight!;

    /// <summary>
    /// input ids [B, T] -> final hidden states [B, T, hidden] (after the last norm).
    /// <paramref name="attentionMask"/> [B, past + T]: 1 for real tokens, 0 for padding, covering the cached positions too.
    /// <paramref name="positionIds"/> [B, T]: defaults to the count of real tokens before each one (right for left padding).
    /// </summary>
    public Tensor Forward(Tensor inputIds, Tensor? attentionMask, Tensor? positionIds, KvCache? cache)
    {
        using var scope = NewDisposeScope();
        long t = inputIds.shape[1];
        long past = cache?.Length ?? 0;
        var device = inputIds.device;
        if (attentionMask is not null && attentionMask.shape[1] != past + t)
            throw new ArgumentException($"The attention mask covers {attentionMask.shape[1]} positions but the cache holds {past} and the input adds {t}; it must cover all {past + t}.", nameof(attentionMask));

        positionIds ??= attentionMask is not null
            ? attentionMask.to(ScalarType.Int64).cumsum(-1).sub_(1).clamp_min_(0).narrow(1, past, t)
            : arange(past, past + t, device: device).unsqueeze(0);

        var h = embed_tokens.forward(inputIds);
        var (cos, sin) = rotary_emb.CosSin(positionIds, h.dtype);
        var mask = BuildMask(attentionMask, t, past, h.dtype, device);
        foreach (var layer in layers)
            h = layer.Forward(h, cos, sin, mask, cache);
        cache?.Advance(t);
        return norm.forward(h).MoveToOuterDisposeScope();
    }

    /// <summary>
    /// Additive mask [B or 1, 1, group T, past + T]: query i (at cache index past + i) sees key j when j &lt;= past + i
    /// and key j is a real token. A query always sees itself, so padding rows never become all -inf (which would
    /// turn into NaN and leak into the cache). Rows are tiled once per query head of a KV group (see Attention).
    /// </summary>
    private Tensor BuildMask(Tensor? attentionMask, long t, long past, ScalarType dtype, Device device)
    {
        using var scope = NewDisposeScope();
        var keyIndex = arange(past + t, device: device).unsqueeze(0);        // [1, Tk]
        var queryIndex = arange(past, past + t, device: device).unsqueeze(1); // [T, 1]
        var allowed = keyIndex.le(queryIndex).unsqueeze(0);                  // [1, T, Tk]
        if (attentionMask is not null)
        {
            var isReal = attentionMask.to(ScalarType.Bool).unsqueeze(1);     // [B, 1, Tk]
            allowed = allowed.logical_and(isReal).logical_or(keyIndex.eq(queryIndex).unsqueeze(0));
        }
        var mask = zeros(allowed.shape, dtype: dtype, device: device).masked_fill_(allowed.logical_not(), double.NegativeInfinity);
        return mask.unsqueeze(1).repeat(1, 1, _queryGroup, 1).MoveToOuterDisposeScope();
    }
}
