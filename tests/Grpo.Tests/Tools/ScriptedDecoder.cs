using Grpo.Sampling;
using static TorchSharp.torch;

namespace Grpo.Tests.Tools;

/// <summary>
/// A model whose every token is known: rollout (prompt text, sample) says its assistant turns, and each slot puts all
/// its probability on the next character of its current turn, then on <c>&lt;|im_end|&gt;</c>. A turn ends there; an
/// append after it (a tool's reply) starts the next turn. Records what was appended and decoded, and reports each
/// finished rollout, so tests can see how rows interleave.
/// </summary>
internal sealed class ScriptedDecoder(int slots, Func<string, int, string[]> turns, Action<string, int>? released = null) : ISlotDecoder
{
    static readonly SpecialByteTokenizer Tokenizer = SpecialByteTokenizer.ChatMl;

    sealed class Slot
    {
        public string Prompt = "";
        public int Sample, Turn, Position;
        public string[] Turns = [];
    }

    readonly Slot?[] _slots = new Slot?[slots];

    /// <summary>Tokens appended to each rollout after its prefill, call by call: its last sampled token, then a tool turn.</summary>
    public List<(string Prompt, int Sample, int[] Tokens)> Resumed { get; } = [];

    /// <summary>The rollouts (prompt, sample) fed in each decode step.</summary>
    public List<(string Prompt, int Sample)[]> DecodeSteps { get; } = [];

    public int[] Acquire(int count)
    {
        var free = Enumerable.Range(0, _slots.Length).Where(s => _slots[s] is null).Take(count).ToArray();
        Assert.Equal(count, free.Length);
        foreach (var s in free) _slots[s] = new Slot();
        return free;
    }

    public void Release(int slot)
    {
        var state = _slots[slot]!;
        _slots[slot] = null;
        released?.Invoke(state.Prompt, state.Sample);
    }

    public Tensor Append(IReadOnlyList<int> slots, IReadOnlyList<IReadOnlyList<int>> tokens)
    {
        for (int i = 0; i < slots.Count; i++)
        {
            var state = _slots[slots[i]]!;
            if (state.Turns.Length == 0)
            {
                state.Prompt = Tokenizer.Decode(tokens[i], skipSpecialTokens: false);
                state.Turns = turns(state.Prompt, 0);
                continue;
            }
            Resumed.Add((state.Prompt, state.Sample, [.. tokens[i]]));
            (state.Turn, state.Position) = (state.Turn + 1, 0);
        }
        return Logits(slots);
    }

    public Tensor Decode(IReadOnlyList<int> slots, Tensor tokens)
    {
        DecodeSteps.Add([.. slots.Select(s => (_slots[s]!.Prompt, _slots[s]!.Sample))]);
        foreach (var s in slots) _slots[s]!.Position++;
        return Logits(slots);
    }

    public int[] Fork(int slot, int count)
    {
        var source = _slots[slot]!;
        var targets = Acquire(count);
        for (int k = 0; k < count; k++)
        {
            var state = _slots[targets[k]]!;
            (state.Prompt, state.Sample) = (source.Prompt, k + 1);
            state.Turns = turns(source.Prompt, k + 1);
        }
        return targets;
    }

    Tensor Logits(IReadOnlyList<int> slots)
    {
        var values = new float[slots.Count * Tokenizer.VocabSize];
        Array.Fill(values, -1e9f);
        for (int i = 0; i < slots.Count; i++)
        {
            var state = _slots[slots[i]]!;
            var turn = state.Turn < state.Turns.Length ? Tokenizer.Encode(state.Turns[state.Turn]) : [];
            values[i * Tokenizer.VocabSize + (state.Position < turn.Length ? turn[state.Position] : SpecialByteTokenizer.ImEnd)] = 0;
        }
        return tensor(values, [slots.Count, Tokenizer.VocabSize]);
    }

    public void Dispose() { }
}
