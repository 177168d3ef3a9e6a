using TorchSharp;
using static TorchSharp.torch;

namespace Grpo.Sampling;

/// <summary>
/// Draws the next token of every row from its logits: temperature, then top-k, top-p and min-p filtering (the order
/// of transformers' logits warpers), then one multinomial draw from a seeded generator.
/// </summary>
public static class TokenSampler
{
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
        var logProbs = scaled.log_softmax(-1);

        var filtered = scaled;
        long vocab = scaled.shape[^1];
        if (options.TopK > 0 && options.TopK < vocab)
        {
            var kth = filtered.topk(options.TopK, dim: -1).values.narrow(-1, options.TopK - 1, 1);
            filtered = filtered.masked_fill(filtered.lt(kth), double.NegativeInfinity);
        }
        if (options.TopP < 1.0)
        {
            // Drop a token when the tokens more likely than it already reach top_p (the most likely one always stays).
            var (sortedLogits, order) = filtered.sort(-1, descending: true);
            var sortedProbs = sortedLogits.softmax(-1);
            var massBefore = sortedProbs.cumsum(-1).sub_(sortedProbs);
            var dropSorted = massBefore.ge(options.TopP);
            var drop = zeros_like(dropSorted).scatter_(-1, order, dropSorted);
            filtered = filtered.masked_fill(drop, double.NegativeInfinity);
        }
        if (options.MinP > 0)
        {
            var probs = filtered.softmax(-1);
            var threshold = probs.max(-1, keepdim: true).values.mul_(options.MinP);
            filtered = filtered.masked_fill(probs.lt(threshold), double.NegativeInfinity);
        }

        var sampleProbs = ReferenceEquals(filtered, scaled) ? logProbs.exp() : filtered.softmax(-1);
        var tokens = sampleProbs.multinomial(1, generator: generator);   // [B, 1]
        var tokenLogProbs = logProbs.gather(-1, tokens).squeeze(-1);
        return (tokens.squeeze(-1).MoveToOuterDisposeScope(), tokenLogProbs.MoveToOuterDisposeScope());
    }
}
