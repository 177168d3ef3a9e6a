using Grpo.Sampling;
using TorchSharp;
using static TorchSharp.torch;

namespace Grpo.Training;

/// <summary>
/// A micro-batch of sampled completions as the tensors the loss needs: each row is its prompt, left-padded, then its
/// completion, right-padded, so that every completion starts at the same column. Padding is trimmed to this
/// micro-batch's own longest prompt and completion.
/// </summary>
internal sealed class RolloutBatch : IDisposable
{
    /// <summary>[B, P + C] prompt then completion ids; padding holds id 0 and a 0 in <see cref="AttentionMask"/>.</summary>
    public required Tensor InputIds { get; init; }
    /// <summary>[B, P + C] 1 on real tokens.</summary>
    public required Tensor AttentionMask { get; init; }
    /// <summary>[B, C] the completion ids, the targets whose log-probs the loss needs.</summary>
    public required Tensor Targets { get; init; }
    /// <summary>[B, C] 1 on completion tokens that count in the loss (0 on padding, on tool replies, and on truncated completions when masked).</summary>
    public required Tensor CompletionMask { get; init; }
    /// <summary>[B, C] log-probs the rollout engine reported for the tokens (TRL's <c>sampling_per_token_logps</c>).</summary>
    public required Tensor SamplerLogProbs { get; init; }
    /// <summary>[B] advantages.</summary>
    public required Tensor Advantages { get; init; }
    /// <summary>P: the padded prompt length; completion token t is predicted by the hidden state at column P − 1 + t.</summary>
    public required int PromptLength { get; init; }
    /// <summary>C: the padded completion length.</summary>
    public required int CompletionLength { get; init; }
    /// <summary>Real prompt plus completion tokens.</summary>
    public required long Tokens { get; init; }

    /// <summary>
    /// Builds the micro-batch of <paramref name="rows"/> (indices into <paramref name="completions"/>), its completions
    /// padded to at least <paramref name="completionFloor"/> columns: LUSPO's mean runs over every position of a per-token
    /// loss, padding included, so its micro-batches are padded to the step's width to give the one-big-batch value.
    /// </summary>
    public static RolloutBatch Build(
        IReadOnlyList<int[]> promptIds, IReadOnlyList<Completion> completions, IReadOnlyList<int> rows,
        IReadOnlyList<double> advantages, bool maskTruncated, Device device, int completionFloor = 1)
    {
        int b = rows.Count;
        int p = rows.Max(r => promptIds[completions[r].PromptIndex].Length);
        int c = Math.Max(Math.Max(1, completionFloor), rows.Max(r => completions[r].TokenIds.Length));
        var ids = new long[b * (p + c)];
        var attention = new long[b * (p + c)];
        var targets = new long[b * c];
        var mask = new float[b * c];
        var sampler = new float[b * c];
        var adv = new float[b];
        long tokens = 0;
        for (int i = 0; i < b; i++)
        {
            var completion = completions[rows[i]];
            var prompt = promptIds[completion.PromptIndex];
            int row = i * (p + c), pad = p - prompt.Length;
            for (int j = 0; j < prompt.Length; j++) (ids[row + pad + j], attention[row + pad + j]) = (prompt[j], 1);
            bool counts = !(maskTruncated && completion.Truncated);
            for (int t = 0; t < completion.TokenIds.Length; t++)
            {
                (ids[row + p + t], attention[row + p + t]) = (completion.TokenIds[t], 1);
                targets[i * c + t] = completion.TokenIds[t];
                // Tool replies are context, not the policy's actions: TRL's tool_mask keeps them out of the loss.
                mask[i * c + t] = counts && (completion.PolicyTokenMask?[t] ?? true) ? 1 : 0;
                sampler[i * c + t] = completion.LogProbs[t];
            }
            adv[i] = (float)advantages[rows[i]];
            tokens += prompt.Length + completion.TokenIds.Length;
        }
        return new RolloutBatch
        {
            InputIds = tensor(ids, [b, p + c], device: device),
            AttentionMask = tensor(attention, [b, p + c], device: device),
            Targets = tensor(targets, [b, c], device: device),
            CompletionMask = tensor(mask, [b, c], device: device),
            SamplerLogProbs = tensor(sampler, [b, c], device: device),
            Advantages = tensor(adv, [b], device: device),
            PromptLength = p,
            CompletionLength = c,
            Tokens = tokens,
        };
    }

    public void Dispose()
    {
        InputIds.Dispose();
        AttentionMask.Dispose();
        Targets.Dispose();
        CompletionMask.Dispose();
        SamplerLogProbs.Dispose();
        Advantages.Dispose();
    }
}
