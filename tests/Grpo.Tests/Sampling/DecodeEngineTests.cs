using Grpo.Modeling;
using Grpo.Sampling;
using Grpo.Tests.Modeling;
using TorchSharp;
using static TorchSharp.torch;

namespace Grpo.Tests.Sampling;

/// <summary>
/// The engine's slots against the plainest possible reference: each sequence run alone through a full forward pass
/// with no cache, in float64, so any leak between slots, wrong position or stale key shows as a difference far above
/// float64 rounding (1e-9).
/// </summary>
public class DecodeEngineTests
{
    private const double Tolerance = 1e-9;

    private static Grpo.Modeling.CausalLM Model(string family) => TestModels.Random(TestModels.Config(family), seed: 7, dtype: ScalarType.Float64);

    /// <summary>Logits after the last token of <paramref name="sequence"/>, from one forward pass over it alone.</summary>
    private static Tensor Alone(Grpo.Modeling.CausalLM model, IEnumerable<int> sequence)
    {
        using var noGrad = no_grad();
        using var logits = model.forward(tensor(sequence.Select(i => (long)i).ToArray()).unsqueeze(0));
        return logits[0, -1].clone();
    }

    private static void AssertRowMatches(Grpo.Modeling.CausalLM model, Tensor logits, int row, List<int> sequence, string what)
    {
        using var scope = NewDisposeScope();
        double diff = TestModels.MaxAbsDiff(logits[row], Alone(model, sequence));
        Assert.True(diff < Tolerance, $"{what}: row {row} differs from the sequence alone by {diff}");
    }

    private static int[] Tokens(int count, int seed, long vocab)
    {
        var random = new Random(seed);
        return Enumerable.Range(0, count).Select(_ => random.Next((int)vocab)).ToArray();
    }

    [Theory]
    [MemberData(nameof(TestModels.Families), MemberType = typeof(TestModels))]
    public void SlotsOfDifferentLengthsDecodedTogetherMatchEachSequenceAlone(string family)
    {
        using var model = Model(family);
        long vocab = model.Config.VocabSize;
        using var engine = new DecodeEngine(model, slots: 3, capacity: 24);
        var slots = engine.Acquire(3);
        var sequences = new[] { Tokens(7, 1, vocab), Tokens(2, 2, vocab), Tokens(11, 3, vocab) }.Select(t => t.ToList()).ToArray();

        using var prefill = engine.Append(slots, sequences);   // one pass, right-padded to 11
        for (int i = 0; i < 3; i++) AssertRowMatches(model, prefill, i, sequences[i], $"{family} prefill");

        var next = Tokens(12, 4, vocab);
        for (int step = 0; step < 4; step++)
        {
            // Every slot, in slot order (the contiguous read); then a reordered subset with slot 1 sitting out.
            int[] order = step % 2 == 0 ? [0, 1, 2] : [2, 0];
            var fed = order.Select((s, i) => next[step * 3 + i]).ToArray();
            for (int i = 0; i < order.Length; i++) sequences[order[i]].Add(fed[i]);
            using var ids = tensor(fed.Select(t => (long)t).ToArray());
            using var logits = engine.Decode(order, ids);
            for (int i = 0; i < order.Length; i++) AssertRowMatches(model, logits, i, sequences[order[i]], $"{family} step {step} slot {order[i]}");
        }
        Assert.Equal(sequences.Select(s => s.Count), slots.Select(engine.Length));
    }

    [Fact]
    public void TokensAppendedMidwayAndARequestJoiningARunningBatchMatchTheirSequencesAlone()
    {
        using var model = Model("qwen3-tied");
        long vocab = model.Config.VocabSize;
        using var engine = new DecodeEngine(model, slots: 4, capacity: 32);
        var first = engine.Acquire(2);
        var sequences = new Dictionary<int, List<int>> { [first[0]] = [.. Tokens(5, 10, vocab)], [first[1]] = [.. Tokens(3, 11, vocab)] };
        engine.Append(first, first.Select(s => sequences[s]).ToArray()).Dispose();
        for (int step = 0; step < 2; step++)
        {
            var fed = Tokens(2, 20 + step, vocab);
            for (int i = 0; i < 2; i++) sequences[first[i]].Add(fed[i]);
            engine.Decode(first, tensor(fed.Select(t => (long)t).ToArray())).Dispose();
        }

        // In one pass: slot 0 gets a 6-token tool reply, slot 1 decodes its next token, and a new request prefills.
        var joined = engine.Acquire(1)[0];
        var reply = Tokens(6, 30, vocab);
        var step3 = Tokens(1, 31, vocab);
        var request = Tokens(9, 32, vocab);
        sequences[first[0]].AddRange(reply);
        sequences[first[1]].AddRange(step3);
        sequences[joined] = [.. request];
        int[] order = [first[1], joined, first[0]];
        using var logits = engine.Append(order, order.Select(s => sequences[s].TakeLast(s == joined ? 9 : s == first[0] ? 6 : 1).ToArray()).ToArray());
        for (int i = 0; i < 3; i++) AssertRowMatches(model, logits, i, sequences[order[i]], $"slot {order[i]} after the mixed pass");

        // And all three decode on together.
        var fedAll = Tokens(3, 40, vocab);
        for (int i = 0; i < 3; i++) sequences[order[i]].Add(fedAll[i]);
        using var after = engine.Decode(order, tensor(fedAll.Select(t => (long)t).ToArray()));
        for (int i = 0; i < 3; i++) AssertRowMatches(model, after, i, sequences[order[i]], $"slot {order[i]} after joining");
    }

    [Fact]
    public void ForkedSlotsContinueFromTheSharedPrefixIndependentlyAndAReleasedSlotIsReused()
    {
        using var model = Model("qwen2-untied");
        long vocab = model.Config.VocabSize;
        using var engine = new DecodeEngine(model, slots: 4, capacity: 16);
        var head = engine.Acquire(1)[0];
        var prompt = Tokens(6, 50, vocab);
        engine.Append([head], [prompt]).Dispose();
        var forks = engine.Fork(head, 2);
        Assert.Equal(1, engine.FreeSlots);
        Assert.All(forks, f => Assert.Equal(6, engine.Length(f)));

        int[] group = [head, .. forks];
        var sequences = group.ToDictionary(s => s, _ => prompt.ToList());
        for (int step = 0; step < 3; step++)
        {
            var fed = Tokens(3, 60 + step, vocab);
            for (int i = 0; i < 3; i++) sequences[group[i]].Add(fed[i]);
            using var logits = engine.Decode(group, tensor(fed.Select(t => (long)t).ToArray()));
            for (int i = 0; i < 3; i++) AssertRowMatches(model, logits, i, sequences[group[i]], $"fork member {i} step {step}");
        }

        // A released slot is empty when acquired again, and its old keys never show through.
        engine.Release(forks[0]);
        var reused = engine.Acquire(1)[0];
        Assert.Equal(forks[0], reused);
        Assert.Equal(0, engine.Length(reused));
        var fresh = Tokens(2, 70, vocab);
        using var freshLogits = engine.Append([reused], [fresh]);
        AssertRowMatches(model, freshLogits, 0, [.. fresh], "reused slot");
    }

    [Fact]
    public void MisuseIsRefusedWithAMessageThatSaysWhatToDo()
    {
        using var model = Model("qwen3-tied");
        using var engine = new DecodeEngine(model, slots: 2, capacity: 4);
        var slot = engine.Acquire(1)[0];
        Assert.Contains("Acquire", Assert.Throws<InvalidOperationException>(() => engine.Append([1], [[1]])).Message);
        Assert.Contains("larger capacity", Assert.Throws<InvalidOperationException>(() => engine.Append([slot], [[1, 2, 3, 4, 5]])).Message);
        Assert.Equal(0, engine.Length(slot));   // a refused pass leaves the slot as it was
        Assert.Contains("at least one", Assert.Throws<ArgumentException>(() => engine.Append([slot], [Array.Empty<int>()])).Message);
        Assert.Contains("vocabulary", Assert.Throws<ArgumentException>(() => engine.Append([slot], [[-1]])).Message);
        Assert.Contains("twice", Assert.Throws<ArgumentException>(() => engine.Decode([slot, slot], tensor(new long[] { 1, 2 }))).Message);
        Assert.Contains("release", Assert.Throws<InvalidOperationException>(() => engine.Acquire(2)).Message);
    }
}
