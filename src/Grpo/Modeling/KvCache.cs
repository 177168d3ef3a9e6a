using TorchSharp;
using static TorchSharp.torch;

namespace Grpo.Modeling;

/// <summary>
/// Keys and values of every layer for a batch of sequences decoded in lockstep, so each new token attends to the
/// past without recomputing it. Storage is allocated once for <see cref="Capacity"/> positions per layer
/// ([B, kv_heads, capacity, head_dim]) and written in place; all rows share one length because left padding
/// aligns the prompts. Rows can be duplicated (one prompt's cache shared by its G samples) or dropped (finished
/// sequences) with <see cref="SelectRows"/>. Owns its tensors: dispose it.
/// </summary>
public sealed class KvCache : IDisposable
{
    private readonly Tensor[] _keys;
    private readonly Tensor[] _values;

    /// <summary>An empty cache for <paramref name="batchSize"/> rows of up to <paramref name="capacity"/> positions.</summary>
    public KvCache(ModelConfig config, long batchSize, long capacity, ScalarType dtype, Device device)
    {
        if (capacity <= 0) throw new ArgumentOutOfRangeException(nameof(capacity), capacity, "A KV cache needs room for at least one position.");
        Capacity = capacity;
        _keys = new Tensor[config.NumHiddenLayers];
        _values = new Tensor[config.NumHiddenLayers];
        for (int i = 0; i < config.NumHiddenLayers; i++)
        {
            _keys[i] = empty([batchSize, config.NumKeyValueHeads, capacity, config.HeadDim], dtype: dtype, device: device).DetachFromDisposeScope();
            _values[i] = empty([batchSize, config.NumKeyValueHeads, capacity, config.HeadDim], dtype: dtype, device: device).DetachFromDisposeScope();
        }
    }

    /// <summary>Positions filled so far (the same for every row).</summary>
    public long Length { get; private set; }

    /// <summary>Positions the storage holds.</summary>
    public long Capacity { get; }

    /// <summary>Rows (sequences) in the cache.</summary>
    public long BatchSize => _keys[0].shape[0];

    /// <summary>
    /// Writes the new keys/values [B, kv_heads, t, head_dim] of <paramref name="layer"/> after the filled positions
    /// and returns views of everything so far, [B, kv_heads, Length + t, head_dim]. The length moves on in
    /// <see cref="Advance"/>, once every layer has written.
    /// </summary>
    public (Tensor Keys, Tensor Values) Update(int layer, Tensor keys, Tensor values)
    {
        long t = keys.shape[2];
        if (Length + t > Capacity)
            throw new InvalidOperationException($"The KV cache holds {Capacity} positions; writing {t} more after {Length} would overflow it. Create it with a larger capacity.");
        _keys[layer].narrow(2, Length, t).copy_(keys);
        _values[layer].narrow(2, Length, t).copy_(values);
        return (_keys[layer].narrow(2, 0, Length + t), _values[layer].narrow(2, 0, Length + t));
    }

    /// <summary>Marks <paramref name="count"/> more positions as filled (called by the model after all layers wrote).</summary>
    public void Advance(long count) => Length += count;

    /// <summary>
    /// Keeps the rows listed in <paramref name="rows"/> (int64 indices, on the cache's device), in that order;
    /// an index may repeat, which is how one prefilled prompt is shared by its group.
    /// </summary>
    public void SelectRows(Tensor rows)
    {
        for (int i = 0; i < _keys.Length; i++)
        {
            var keys = _keys[i].index_select(0, rows).DetachFromDisposeScope();
            var values = _values[i].index_select(0, rows).DetachFromDisposeScope();
            _keys[i].Dispose();
            _values[i].Dispose();
            _keys[i] = keys;
            _values[i] = values;
        }
    }

    /// <summary>Frees the storage.</summary>
    public void Dispose()
    {
        foreach (var t in _keys.Concat(_values)) t.Dispose();
    }
}
