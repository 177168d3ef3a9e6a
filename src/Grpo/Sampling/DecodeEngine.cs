using Grpo.Modeling;
using TorchSharp;
using static TorchSharp.torch;

namespace Grpo.Sampling;

/// <summary>
/// The one decode loop of Grpo: a model over a <see cref="KvCache"/> of SLOTS, each slot one sequence with its own
/// length and positions. Everything a decoder needs is one of five calls:
/// <list type="bullet">
/// <item><see cref="Acquire(int)"/> takes free slots; <see cref="Release"/> gives one back (its cache is forgotten).</item>
/// <item><see cref="Append"/> adds tokens to any set of slots in one forward pass, each slot its own number of tokens at
/// its own next positions (a prompt's prefill, a tool's reply in a multi-turn rollout, a request joining a server's
/// running batch while other slots are mid-decode), and returns the logits after each slot's last token.</item>
/// <item><see cref="Decode"/> adds one token to each of a set of slots (the tokens already on the device, as the
/// sampler drew them) and returns the next logits: the per-step call.</item>
/// <item><see cref="Fork"/> copies a slot's cache into new slots: one prompt prefilled once, shared by its G samples.</item>
/// </list>
/// Slots that are not named in a call are untouched and keep their state: a row paused for a tool simply sits out
/// the steps until tokens are appended to it; a finished row is released. No left padding is ever needed: rows of
/// different lengths go through one pass with right padding that is never stored. Each call is one forward pass and
/// copies nothing back to the host, so a decode loop's only synchronisation is its own copy of the sampled tokens.
/// <para>
/// A server (requests joining a running batch) drives it from one thread: between steps, <see cref="Acquire(int)"/>
/// and <see cref="Append"/> the waiting requests, then <see cref="Decode"/> every active slot. Logits come back in
/// the model's dtype with one row per slot, in the order the slots were given; pass them to
/// <see cref="TokenSampler.Sample"/>. Not thread-safe. Runs without autograd. Dispose it to free the cache.
/// </para>
/// <para>
/// A token enters a slot's cache only when it is passed to <see cref="Decode"/> or <see cref="Append"/>, so the last
/// token a row sampled is not in the cache yet. A multi-turn rollout therefore drops a row that stopped at a tool
/// call from the slots it decodes, and when the tool answers, appends that last sampled token followed by the reply's
/// tokens in one <see cref="Append"/>, and takes the returned logits as the row's next distribution; the other rows
/// decode on meanwhile. Capacity is per slot, prompt plus everything appended or decoded; exceeding it is refused
/// before anything is written.
/// </para>
/// </summary>
/// <example>
/// <code>
/// using var engine = new DecodeEngine(model, slots: 64, capacity: 4096);
/// var slot = engine.Acquire(1);                                  // a request arrives
/// var logits = engine.Append(slot, [promptIds]);                 // its prefill, [1, vocab]
/// var (token, logProb) = TokenSampler.Sample(logits, options, generator);
/// logits = engine.Decode(slot, token);                           // each step, for all active slots at once
/// engine.Append(slot, [[lastSampledId, .. toolReplyIds]]);       // a row that paused for a tool resumes
/// engine.Release(slot[0]);                                       // done: the slot is free for the next request
/// </code>
/// </example>
public sealed class DecodeEngine : ISlotDecoder
{
    private readonly CausalLM _model;
    private readonly KvCache _cache;
    private readonly bool[] _inUse;

    /// <summary>
    /// An engine for <paramref name="model"/> with <paramref name="slots"/> sequences of up to <paramref name="capacity"/>
    /// tokens each (prompt and completion). On the CPU, throws <see cref="InvalidOperationException"/> before allocating
    /// when the cache and logits alone would not fit in this machine's memory, saying what to lower.
    /// </summary>
    public DecodeEngine(CausalLM model, int slots, int capacity)
    {
        if (slots <= 0) throw new ArgumentOutOfRangeException(nameof(slots), slots, "A decode engine needs at least one slot.");
        if (capacity <= 0) throw new ArgumentOutOfRangeException(nameof(capacity), capacity, "A decode engine needs room for at least one token per slot.");
        EnsureMemory(model, slots, capacity);
        _model = model;
        _cache = model.NewCache(slots, capacity);
        _inUse = new bool[slots];
    }

    /// <summary>Slots in the engine.</summary>
    public int Slots => _inUse.Length;

    /// <summary>Tokens each slot can hold.</summary>
    public int Capacity => (int)_cache.Capacity;

    /// <summary>Slots not acquired.</summary>
    public int FreeSlots => _inUse.Count(u => !u);

    /// <summary>Tokens in <paramref name="slot"/>'s cache so far (its next token's position).</summary>
    public int Length(int slot) => (int)_cache.LengthOf(slot);

    /// <summary>Takes the <paramref name="count"/> lowest free slots, empty; throws when fewer are free.</summary>
    public int[] Acquire(int count)
    {
        var free = Enumerable.Range(0, Slots).Where(s => !_inUse[s]).Take(count).ToArray();
        if (count < 0 || free.Length < count)
            throw new InvalidOperationException($"{count} slots were asked for but {FreeSlots} of {Slots} are free; release finished slots first or make the engine larger.");
        foreach (var s in free)
        {
            _inUse[s] = true;
            _cache.Clear(s);
        }
        return free;
    }

    /// <summary>Gives <paramref name="slot"/> back; its cache is forgotten and the slot can be acquired again.</summary>
    public void Release(int slot)
    {
        CheckInUse(slot);
        _inUse[slot] = false;
        _cache.Clear(slot);
    }

    /// <summary>
    /// Appends tokens[i] (at least one) to slots[i], all in one forward pass, and returns logits [n, vocab] after each
    /// slot's last new token: the distribution of its next token.
    /// </summary>
    public Tensor Append(IReadOnlyList<int> slots, IReadOnlyList<IReadOnlyList<int>> tokens)
    {
        if (slots.Count != tokens.Count) throw new ArgumentException($"{slots.Count} slots but {tokens.Count} token lists; give one list per slot.", nameof(tokens));
        if (slots.Count == 0) throw new ArgumentException("Append needs at least one slot.", nameof(slots));
        foreach (var s in slots) CheckInUse(s);
        int width = tokens.Max(t => t.Count);
        var counts = tokens.Select(t => t.Count).ToArray();
        var ids = new long[slots.Count * width];
        var last = new long[slots.Count];
        for (int i = 0; i < slots.Count; i++)
        {
            if (counts[i] == 0) throw new ArgumentException($"Slot {slots[i]} was given no tokens; append at least one.", nameof(tokens));
            for (int j = 0; j < counts[i]; j++)
            {
                int id = tokens[i][j];
                if (id < 0 || id >= _model.Config.VocabSize)
                    throw new ArgumentException($"Token id {id} for slot {slots[i]} is outside the model's vocabulary (vocab_size {_model.Config.VocabSize}).", nameof(tokens));
                ids[i * width + j] = id;
            }
            last[i] = i * width + counts[i] - 1;
        }

        using var noGrad = no_grad();
        using var scope = NewDisposeScope();
        var device = _model.Device;
        var hidden = _model.HiddenStates(tensor(ids, [slots.Count, width], device: device), _cache, slots, counts);
        var lastHidden = hidden.view(slots.Count * width, -1).index_select(0, tensor(last, device: device));
        return _model.Logits(lastHidden).MoveToOuterDisposeScope();
    }

    /// <summary>
    /// Appends one token to each of <paramref name="slots"/>: <paramref name="tokens"/> [n] int64 on the model's device
    /// (as <see cref="TokenSampler.Sample"/> returns them, so they never visit the host), and returns logits [n, vocab].
    /// </summary>
    public Tensor Decode(IReadOnlyList<int> slots, Tensor tokens)
    {
        if (tokens.dim() != 1 || tokens.shape[0] != slots.Count || tokens.dtype != ScalarType.Int64)
            throw new ArgumentException($"Decode takes one int64 token per slot: {slots.Count} slots, tokens {tokens.dtype} [{string.Join(", ", tokens.shape)}].", nameof(tokens));
        foreach (var s in slots) CheckInUse(s);
        using var noGrad = no_grad();
        using var scope = NewDisposeScope();
        var hidden = _model.HiddenStates(tokens.view(slots.Count, 1), _cache, slots, Enumerable.Repeat(1, slots.Count).ToArray());
        return _model.Logits(hidden.view(slots.Count, -1)).MoveToOuterDisposeScope();
    }

    /// <summary>
    /// Acquires <paramref name="count"/> free slots that continue from a copy of <paramref name="slot"/>'s cache (same
    /// tokens, same length); the source keeps its own. Returns the new slots.
    /// </summary>
    public int[] Fork(int slot, int count)
    {
        CheckInUse(slot);
        var targets = Acquire(count);
        _cache.Fork(slot, targets);
        return targets;
    }

    /// <summary>
    /// Refuses, before allocating, an engine whose KV cache and logits alone would not fit in this machine's memory on
    /// the CPU: a group size, a request's n or a length of a typo's size would otherwise end in the kernel killing the
    /// process (a server with it). Every user (the group sampler, tool rollouts, <c>grpo serve</c>, the chat client)
    /// allocates its cache here, so each gets this refusal. CUDA reports its own out-of-memory error.
    /// </summary>
    private static void EnsureMemory(CausalLM model, long slots, long capacity)
    {
        if (model.Device.type != DeviceType.CPU) return;
        var config = model.Config;
        int elementSize = model.Dtype switch { ScalarType.Float64 => 8, ScalarType.Float32 => 4, _ => 2 };
        double cacheBytes = 2.0 * config.NumHiddenLayers * config.NumKeyValueHeads * config.HeadDim * capacity * elementSize;
        double logitBytes = 3.0 * config.VocabSize * sizeof(float);   // the logits, and their softmax while a token is picked
        double needed = slots * (cacheBytes + logitBytes);
        long available = GC.GetGCMemoryInfo().TotalAvailableMemoryBytes;
        if (needed > available)
            throw new InvalidOperationException(
                $"Decoding {slots:N0} sequences of up to {capacity:N0} tokens (prompt and completion) at once needs about " +
                $"{needed / (1L << 30):N1} GiB for the KV cache and logits alone, more than the {available / (double)(1L << 30):N1} GiB " +
                "of memory here; lower how many sequences decode at once (prompts per batch × group size; a request's prompts × n, " +
                "or grpo serve's --max-batch-rows) or their length (the completion length; max_tokens).");
    }

    private void CheckInUse(int slot)
    {
        if (slot < 0 || slot >= Slots) throw new ArgumentOutOfRangeException(nameof(slot), slot, $"The engine has slots 0 .. {Slots - 1}.");
        if (!_inUse[slot]) throw new InvalidOperationException($"Slot {slot} is not acquired; call Acquire first (or it was released).");
    }

    /// <summary>Frees the cache.</summary>
    public void Dispose() => _cache.Dispose();
}
