using TorchSharp;
using static TorchSharp.torch;

namespace Grpo.Modeling;

/// <summary>
/// Keys and values of every layer for a set of SLOTS, each slot one sequence with its own length, so each new token
/// attends to its own past without recomputing it. Storage is allocated once ([slots + 1, kv_heads, capacity,
/// head_dim] per layer; the extra slot absorbs the writes of padding tokens) and written in place. A forward pass
/// appends tokens to any subset of slots, each at its own position: slots never share one position and need no left
/// padding. <see cref="Sampling.DecodeEngine"/> drives it; <see cref="CausalLM.HiddenStates"/> with a cache appends the
/// same number of tokens to slots 0 .. B-1. Not thread-safe. Owns its tensors: dispose it.
/// </summary>
public sealed class KvCache : IDisposable
{
    private readonly Tensor[] _keys;
    private readonly Tensor[] _values;
    private readonly long[] _lengths;
    private readonly long _kvHeads, _headDim;
    private Batch? _batch;

    /// <summary>An empty cache of <paramref name="slots"/> sequences of up to <paramref name="capacity"/> positions each.</summary>
    public KvCache(ModelConfig config, long slots, long capacity, ScalarType dtype, Device device)
    {
        if (slots <= 0) throw new ArgumentOutOfRangeException(nameof(slots), slots, "A KV cache needs at least one slot.");
        if (capacity <= 0) throw new ArgumentOutOfRangeException(nameof(capacity), capacity, "A KV cache needs room for at least one position.");
        Capacity = capacity;
        _kvHeads = config.NumKeyValueHeads;
        _headDim = config.HeadDim;
        _lengths = new long[slots];
        _keys = new Tensor[config.NumHiddenLayers];
        _values = new Tensor[config.NumHiddenLayers];
        for (int i = 0; i < config.NumHiddenLayers; i++)
        {
            // Zeros, not empty: masked-out positions still enter attention's product as 0 x value, and uninitialised
            // memory can hold NaN, which 0 x NaN would spread.
            _keys[i] = zeros([slots + 1, _kvHeads, capacity, _headDim], dtype: dtype, device: device).DetachFromDisposeScope();
            _values[i] = zeros([slots + 1, _kvHeads, capacity, _headDim], dtype: dtype, device: device).DetachFromDisposeScope();
        }
    }

    /// <summary>Sequences the cache holds.</summary>
    public int Slots => _lengths.Length;

    /// <summary>Positions each slot can hold.</summary>
    public long Capacity { get; }

    /// <summary>The longest slot's length (the length of every slot when all were filled together).</summary>
    public long Length => _lengths.Max();

    /// <summary>Positions filled in <paramref name="slot"/>.</summary>
    public long LengthOf(int slot) => _lengths[CheckSlot(slot)];

    /// <summary>Empties <paramref name="slot"/> (its storage is reused by the next sequence appended to it).</summary>
    public void Clear(int slot) => _lengths[CheckSlot(slot)] = 0;

    /// <summary>
    /// Copies <paramref name="source"/>'s keys and values into each of <paramref name="targets"/>, which then continue
    /// from the same prefix: one prompt prefilled once and shared by its group. The targets' old contents are replaced.
    /// </summary>
    public void Fork(int source, IReadOnlyList<int> targets)
    {
        CheckSlot(source);
        foreach (var t in targets) CheckSlot(t);
        long length = _lengths[source];
        if (targets.Count == 0) return;
        if (length > 0)
        {
            using var scope = NewDisposeScope();
            var index = tensor(targets.Select(t => (long)t).ToArray(), device: _keys[0].device);
            foreach (var storage in _keys.Concat(_values))
            {
                var prefix = storage.narrow(0, source, 1).narrow(2, 0, length).expand(targets.Count, -1, -1, -1);
                storage.narrow(2, 0, length).index_copy_(0, index, prefix);
            }
        }
        foreach (var t in targets) _lengths[t] = length;
    }

    /// <summary>
    /// Starts a forward pass that appends to <paramref name="slots"/> (distinct; row i of the input is slot slots[i])
    /// counts[i] real tokens each, the input being <paramref name="width"/> tokens wide (rows shorter than that are
    /// padded on the right, and their padding is never stored). Returns each slot's length before the pass: token j
    /// of row i sits at position past[i] + j. <see cref="Update"/> then writes and reads each layer,
    /// <see cref="EndBatch"/> moves the lengths on.
    /// </summary>
    internal long[] BeginBatch(IReadOnlyList<int> slots, IReadOnlyList<int> counts, long width)
    {
        int n = slots.Count;
        var past = new long[n];
        var seen = new HashSet<int>();
        for (int i = 0; i < n; i++)
        {
            CheckSlot(slots[i]);
            if (!seen.Add(slots[i])) throw new ArgumentException($"Slot {slots[i]} appears twice in one forward pass; give each slot once.", nameof(slots));
            if (counts[i] < 1 || counts[i] > width) throw new ArgumentException($"Slot {slots[i]} appends {counts[i]} tokens; it must append between 1 and {width}.", nameof(counts));
            past[i] = _lengths[slots[i]];
            if (past[i] + counts[i] > Capacity)
                throw new InvalidOperationException(
                    $"Slot {slots[i]} of the KV cache holds {Capacity} positions; appending {counts[i]} tokens after {past[i]} would overflow it. Create the cache (or engine) with a larger capacity.");
        }

        // Row-major over (row, kv head, new token), the order of keys.reshape(-1, head_dim); padding goes to the spare slot.
        var write = new long[n * _kvHeads * width];
        for (int i = 0, w = 0; i < n; i++)
            for (long h = 0; h < _kvHeads; h++)
                for (long j = 0; j < width; j++)
                    write[w++] = j < counts[i]
                        ? (slots[i] * _kvHeads + h) * Capacity + past[i] + j
                        : (Slots * _kvHeads + h) * Capacity + j;

        bool contiguous = Enumerable.Range(1, Math.Max(n - 1, 0)).All(i => slots[i] == slots[0] + i);
        var device = _keys[0].device;
        _batch = new Batch(
            tensor(write, device: device),
            contiguous ? null : tensor(slots.Select(s => (long)s).ToArray(), device: device),
            slots[0], n, Enumerable.Range(0, n).Max(i => past[i] + counts[i]),
            [.. slots], [.. counts]);
        return past;
    }

    /// <summary>
    /// Writes the new keys/values [n, kv_heads, width, head_dim] of <paramref name="layer"/> for the pass begun with
    /// <see cref="BeginBatch"/> and returns every row's keys/values so far, [n, kv_heads, keyLength, head_dim], where
    /// keyLength is the longest row's length after the pass; positions past a row's own length hold stale data
    /// that the attention mask hides.
    /// </summary>
    public (Tensor Keys, Tensor Values) Update(int layer, Tensor keys, Tensor values)
    {
        var batch = _batch ?? throw new InvalidOperationException("KvCache.Update was called outside a forward pass; drive the cache through CausalLM.HiddenStates or DecodeEngine.");
        return (Write(_keys[layer], keys, batch), Write(_values[layer], values, batch));
    }

    private Tensor Write(Tensor storage, Tensor fresh, Batch batch)
    {
        storage.view(-1, _headDim).index_copy_(0, batch.WriteIndex, fresh.reshape(-1, _headDim));
        var upTo = storage.narrow(2, 0, batch.KeyLength);
        return batch.Rows is null ? upTo.narrow(0, batch.FirstSlot, batch.Count) : upTo.index_select(0, batch.Rows);
    }

    /// <summary>Ends the pass begun with <see cref="BeginBatch"/>: each slot's length grows by its real token count.</summary>
    internal void EndBatch()
    {
        var batch = _batch ?? throw new InvalidOperationException("No forward pass is in progress.");
        for (int i = 0; i < batch.Slots.Length; i++) _lengths[batch.Slots[i]] += batch.Counts[i];
        _batch = null;
    }

    private int CheckSlot(int slot) =>
        slot >= 0 && slot < Slots ? slot : throw new ArgumentOutOfRangeException(nameof(slot), slot, $"The KV cache has slots 0 .. {Slots - 1}.");

    /// <summary>Frees the storage.</summary>
    public void Dispose()
    {
        foreach (var t in _keys.Concat(_values)) t.Dispose();
    }

    /// <summary>One forward pass's layout: where each new key goes, which slots to read (null: a contiguous run from FirstSlot).</summary>
    private sealed record Batch(Tensor WriteIndex, Tensor? Rows, int FirstSlot, int Count, long KeyLength, int[] Slots, int[] Counts);
}
