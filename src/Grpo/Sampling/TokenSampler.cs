using TorchSharp;
using static TorchSharp.torch;

namespace Grpo.Sampling;

/// <summary>
/// Draws the next token of every row from its logits: temperature, then top-k, top-p and min-p filtering (the order
/// of transformers' logits warpers), then one multinomial draw from a seeded generator. Filtering looks only at the
/// most likely tokens: one <c>topk</c> of <see cref="CandidateCount"/> candidates (or of TopK), never a sort or second
/// softmax of the whole vocabulary. That is exact whenever the kept set lies inside the candidates, which the sampler
/// checks per row; a row whose nucleus reaches past them (a flat distribution) is redrawn from 16 times as many, and
/// past those over its whole sorted vocabulary. The check costs one host synchronisation per tier when top-p or
/// min-p is on without top-k.
/// </summary>
public static class TokenSampler
{
    /// <summary>Most likely tokens that top-p / min-p filtering examines first.</summary>
    public const int CandidateCount = 256;

    /// <summary>The candidate sets tried in turn for rows whose kept set is larger, before the whole vocabulary.</summary>
    private static readonly int[] CandidateTiers = [CandidateCount, 16 * CandidateCount];

    /// <summary>
    /// logits [B, V] (any float dtype) -> tokens [B] int64 and their log-probs [B] float32.
    /// The log-prob is taken from the temperature-scaled distribution over the whole vocabulary, not the filtered
    /// one: that is the distribution a training forward pass recomputes (TRL divides logits by the temperature and
    /// nothing else), so the ratio new / old is 1 for unchanged weights. A filtered log-prob would not be reproducible
    /// there and would bias the importance ratio.
    /// </summary>
    public static (Tensor Tokens, Tensor LogProbs) Sample(Tensor logits, SamplingOptions options, Generator generator)
    {
        using var scope = NewDisposeScope();
        var scaled = logits.to(ScalarType.Float32);
        if (options.Temperature != 1.0) scaled = scaled / options.Temperature;
        var logNormaliser = scaled.logsumexp(-1, keepdim: true);   // [B, 1]: log-probs are scaled - this
        long vocab = scaled.shape[^1];
        bool topK = options.TopK > 0 && options.TopK < vocab;

        Tensor tokens;   // [B, 1]
        if (!topK && options.TopP >= 1.0 && options.MinP <= 0)
        {
            tokens = scaled.sub(logNormaliser).exp_().multinomial(1, generator: generator);
        }
        else if (topK)
        {
            var (values, indexes) = scaled.topk(options.TopK, dim: -1);   // sorted, most likely first
            tokens = DrawSorted(values, indexes, logNormaliser, options, topKApplied: true, generator);
        }
        else
        {
            // Widening candidate sets, the last the whole sorted vocabulary; each tier redraws only the rows whose kept
            // set the previous one could not hold.
            Tensor? drawnSoFar = null;
            Tensor? rows = null;   // null: every row
            foreach (long k in CandidateTiers.Select(c => Math.Min(c, vocab)).Append(vocab).Distinct())
            {
                var part = rows is null ? scaled : scaled.index_select(0, rows);
                var partNormaliser = rows is null ? logNormaliser : logNormaliser.index_select(0, rows);
                var (values, indexes) = k < vocab ? part.topk((int)k, dim: -1) : part.sort(-1, descending: true);
                var drawn = DrawSorted(values, indexes, partNormaliser, options, topKApplied: false, generator);
                drawnSoFar = rows is null ? drawn : drawnSoFar!.index_copy_(0, rows, drawn);
                if (k == vocab) break;

                // Tokens past the candidates are dropped when the candidates already hold top_p of the mass, or when
                // the least likely candidate already falls under min_p; other rows need the next tier.
                var probs = values.sub(partNormaliser).exp_();
                var held = zeros(probs.shape[0], dtype: ScalarType.Bool, device: probs.device);
                if (options.TopP < 1.0) held = held.logical_or(probs.sum(-1).ge(options.TopP));
                if (options.MinP > 0) held = held.logical_or(probs.select(1, k - 1).lt(probs.select(1, 0) * options.MinP));
                var open = held.logical_not().nonzero().squeeze(-1);
                if (open.shape[0] == 0) break;
                rows = rows is null ? open : rows.index_select(0, open);
            }
            tokens = drawnSoFar!;
        }
        var tokenLogProbs = scaled.gather(-1, tokens).sub_(logNormaliser).squeeze(-1);
        return (tokens.squeeze(-1).MoveToOuterDisposeScope(), tokenLogProbs.MoveToOuterDisposeScope());
    }

    /// <summary>
    /// Draws from scaled logits sorted in descending order ([B, k] values and their vocabulary indexes) after top-p
    /// and min-p, returning vocabulary ids [B, 1]. With <paramref name="topKApplied"/>, the k values are the whole
    /// top-k set and top-p counts mass within it (transformers renormalises after its top-k warper); otherwise mass
    /// is a share of the whole vocabulary. min-p compares against the most likely token, which no filter changes.
    /// </summary>
    private static Tensor DrawSorted(Tensor values, Tensor indexes, Tensor logNormaliser, SamplingOptions options, bool topKApplied, Generator generator)
    {
        using var scope = NewDisposeScope();
        if (values.shape[1] == 1) return indexes.MoveToOuterDisposeScope();
        var probs = values.sub(logNormaliser).exp_();
        var keep = ones_like(probs, dtype: ScalarType.Bool);
        if (options.TopP < 1.0)
        {
            // Drop a token when the tokens more likely than it already reach top_p (the most likely one always stays).
            var mass = topKApplied ? probs / probs.sum(-1, keepdim: true) : probs;
            keep = keep.logical_and(mass.cumsum(-1).sub_(mass).lt(options.TopP));
        }
        if (options.MinP > 0)
            keep = keep.logical_and(probs.ge(probs.narrow(1, 0, 1) * options.MinP));
        var choice = probs.mul_(keep).multinomial(1, generator: generator);
        return indexes.gather(-1, choice).MoveToOuterDisposeScope();
    }
}
