namespace Grpo.Rewards.Shaping;

/// <summary>
/// (1 − unique / total) · max_penalty over the completion's token-id n-grams: 0 for text that never repeats an
/// n-gram, approaching max_penalty for degenerate loops. Counters the repetition that length rewards invite.
/// </summary>
/// <remarks>
/// <para>Follows Appendix C.2 of "Demystifying Long Chain-of-Thought Reasoning" (arXiv 2502.03373) as TRL's
/// <c>get_repetition_penalty_reward</c> implements it (trl/rewards/other_rewards.py): over token ids, so it is
/// independent of language and whitespace (open-r1's version counts words of the lower-cased text instead).
/// total = L − n + 1 n-grams of the L = <see cref="RewardInput.CompletionIds"/>; unique = how many distinct ones.</para>
/// <para>Options: <see cref="RepetitionPenaltyOptions"/> (n = 3, max_penalty = −1). 0 when L &lt; n, the empty
/// completion included; NaN when the input has text but no token ids. Linear time (hashing).</para>
/// </remarks>
public sealed class RepetitionPenaltyReward : RewardFunction
{
    readonly int _n;
    readonly double _maxPenalty;

    /// <summary>Creates the reward.</summary>
    /// <exception cref="ArgumentOutOfRangeException">n is below 1 or max_penalty is positive or not finite.</exception>
    public RepetitionPenaltyReward(RepetitionPenaltyOptions? options = null)
    {
        options ??= new();
        if (options.NgramSize < 1)
            throw new ArgumentOutOfRangeException(nameof(options), options.NgramSize,
                "RepetitionPenaltyOptions.NgramSize must be at least 1; the usual value is 3.");
        if (!double.IsFinite(options.MaxPenalty) || options.MaxPenalty > 0)
            throw new ArgumentOutOfRangeException(nameof(options), options.MaxPenalty,
                "RepetitionPenaltyOptions.MaxPenalty must be a finite number, zero or negative (a penalty); the usual value is -1.");
        _n = options.NgramSize;
        _maxPenalty = options.MaxPenalty;
    }

    /// <inheritdoc/>
    public override string Name => "repetition_penalty";

    /// <inheritdoc/>
    public override double Score(RewardInput input)
    {
        if (CompletionTokens.Missing(input)) return double.NaN;
        var ids = input.CompletionIds as int[] ?? input.CompletionIds.ToArray();
        if (ids.Length < _n) return 0;
        int total = ids.Length - _n + 1;
        // Each n-gram is represented by its start index and compared by content, so no n-gram is copied.
        var unique = new HashSet<int>(total, new NgramComparer(ids, _n));
        for (int start = 0; start < total; start++) unique.Add(start);
        double repeated = 1 - (double)unique.Count / total;
        return repeated == 0 ? 0 : repeated * _maxPenalty; // no −0 in the metrics
    }

    // Hashes are computed once per n-gram; equality compares the ids themselves, so collisions cost time, never correctness.
    sealed class NgramComparer : IEqualityComparer<int>
    {
        readonly int[] _ids;
        readonly int _n;
        readonly int[] _hashes;

        public NgramComparer(int[] ids, int n)
        {
            _ids = ids;
            _n = n;
            _hashes = new int[ids.Length - n + 1];
            for (int start = 0; start < _hashes.Length; start++)
            {
                ulong hash = 0;
                foreach (var id in ids.AsSpan(start, n)) hash = (hash + (uint)id) * 0x9E3779B97F4A7C15UL;
                _hashes[start] = (int)(hash ^ (hash >> 32));
            }
        }

        public bool Equals(int a, int b) => _ids.AsSpan(a, _n).SequenceEqual(_ids.AsSpan(b, _n));

        public int GetHashCode(int start) => _hashes[start];
    }
}
