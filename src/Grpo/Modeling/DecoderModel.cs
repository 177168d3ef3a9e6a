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
    /// With a <paramref name="cache"/>, row b appends its T tokens to slot b, and slots 0 .. B-1 must hold equally many.
    /// </summary>
    public Tensor Forward(Tensor inputIds, Tensor? attentionMask, Tensor? positionIds, KvCache? cache)
    {
        if (cache is null) return Forward(inputIds, attentionMask, positionIds);
        var all = Enumerable.Range(0, (int)inputIds.shape[0]).ToArray();
        return Forward(inputIds, cache, all, all.Select(_ => (int)inputIds.shape[1]).ToArray(), attentionMask, positionIds);
    }

    private Tensor Forward(Tensor inputIds, Tensor? attentionMask, Tensor? positionIds)
    {
        using var scope = NewDisposeScope();
        long t = inputIds.shape[1];
        var device = inputIds.device;
        if (attentionMask is not null && attentionMask.shape[1] != t)
            throw new ArgumentException($"The attention mask covers {attentionMask.shape[1]} positions but the input has {t}; they must match.", nameof(attentionMask));

        positionIds ??= attentionMask is not null
            ? attentionMask.to(ScalarType.Int64).cumsum(-1).sub_(1).clamp_min_(0)
            : arange(t, device: device).unsqueeze(0);

        var h = embed_tokens.forward(inputIds);
        var (cos, sin) = rotary_emb.CosSin(positionIds, h.dtype);
        var mask = BuildMask(attentionMask, t, h.dtype, device);
        foreach (var layer in layers)
            h = layer.Forward(h, cos, sin, mask, null);
        return norm.forward(h).MoveToOuterDisposeScope();
    }

    /// <summary>
    /// input ids [n, width] -> final hidden states [n, width, hidden], row i appending its first counts[i] tokens to
    /// cache slot slots[i] at that slot's own next positions (the rest of the row is right padding: its outputs are
    /// meaningless and nothing of it is stored). The optional <paramref name="attentionMask"/> [n, past + width] (1 =
    /// real token) serves callers that left-pad rows of equal cache length; <see cref="Sampling.DecodeEngine"/> needs none.
    /// </summary>
    internal Tensor Forward(Tensor inputIds, KvCache cache, IReadOnlyList<int> slots, IReadOnlyList<int> counts,
        Tensor? attentionMask = null, Tensor? positionIds = null)
    {
        using var scope = NewDisposeScope();
        long width = inputIds.shape[1];
        var device = inputIds.device;
        var past = cache.BeginBatch(slots, counts, width);
        if (attentionMask is not null)
        {
            if (past.Any(p => p != past[0]))
                throw new ArgumentException("An attention mask needs every cache slot in the pass at the same length; append per slot without one instead.", nameof(attentionMask));
            if (attentionMask.shape[1] != past[0] + width)
                throw new ArgumentException($"The attention mask covers {attentionMask.shape[1]} positions but the cache holds {past[0]} and the input adds {width}; it must cover all {past[0] + width}.", nameof(attentionMask));
        }

        // Token j of row i sits at past[i] + j; padding repeats the row's last real position, so it attends to real keys only.
        var limits = new long[slots.Count * width];
        for (int i = 0; i < slots.Count; i++)
            for (long j = 0; j < width; j++)
                limits[i * width + j] = past[i] + Math.Min(j, counts[i] - 1);
        var limit = tensor(limits, [slots.Count, width], device: device);
        positionIds ??= attentionMask is not null
            ? attentionMask.to(ScalarType.Int64).cumsum(-1).sub_(1).clamp_min_(0).narrow(1, past[0], width)
            : limit;

        var h = embed_tokens.forward(inputIds);
        var (cos, sin) = rotary_emb.CosSin(positionIds, h.dtype);
        var mask = BuildCacheMask(limit, attentionMask, past.Zip(counts, (p, c) => p + c).Max(), device);
        foreach (var layer in layers)
            h = layer.Forward(h, cos, sin, mask, cache);
        cache.EndBatch();
        return norm.forward(h).MoveToOuterDisposeScope();
    }

    /// <summary>
    /// Boolean mask [n, 1, group width or 1, keys] (true = may attend) for a pass over cache slots: the query at
    /// position limit[i, j] sees keys 0 .. limit[i, j] of its own slot, so each slot's stale positions past its length
    /// stay hidden. With an attention mask, left padding is hidden too, except from itself (as in BuildMask). A single
    /// new token per row broadcasts over the query heads of a KV group instead of being tiled.
    /// </summary>
    private Tensor BuildCacheMask(Tensor limit, Tensor? attentionMask, long keys, Device device)
    {
        using var scope = NewDisposeScope();
        var keyIndex = arange(keys, device: device);                               // [keys]
        var allowed = keyIndex.le(limit.unsqueeze(-1));                            // [n, width, keys]
        if (attentionMask is not null)
            allowed = allowed.logical_and(attentionMask.to(ScalarType.Bool).unsqueeze(1)).logical_or(keyIndex.eq(limit.unsqueeze(-1)));
        var mask = allowed.unsqueeze(1);
        if (limit.shape[1] > 1) mask = mask.repeat(1, 1, _queryGroup, 1);
        return mask.MoveToOuterDisposeScope();
    }

    /// <summary>
    /// Additive mask [B or 1, 1, group T, T] for a pass without a cache: query i sees key j when j &lt;= i
    /// and key j is a real token. A query always sees itself, so padding rows never become all -inf (which would
    /// turn into NaN and leak into the cache). Rows are tiled once per query head of a KV group (see Attention).
    /// </summary>
    private Tensor BuildMask(Tensor? attentionMask, long t, ScalarType dtype, Device device)
    {
        using var scope = NewDisposeScope();
        var keyIndex = arange(t, device: device).unsqueeze(0);               // [1, Tk]
        var queryIndex = arange(t, device: device).unsqueeze(1);             // [T, 1]
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
