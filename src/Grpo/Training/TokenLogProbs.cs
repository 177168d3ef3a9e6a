using TorchSharp;
using static TorchSharp.torch;

namespace Grpo.Training;

/// <summary>
/// Log-probabilities of given tokens under <c>softmax((h·Wᵀ + b) / temperature)</c>, computed a chunk of tokens at a time so
/// that the float32 [batch × length × vocab] logits never exist at once, in the forward pass or in the backward pass.
/// </summary>
/// <remarks>
/// <para>A language-model head at vocab 150k and 4k completion tokens would need 2.4 GB of float32 logits, and autograd
/// would keep them (and their softmax) alive until backward. Here a custom autograd function keeps only the per-token
/// log-sum-exp ([tokens] floats) and the last chunk's log-softmax, and recomputes the other chunks' logits in backward, where
/// ∂ log p(y) / ∂ z = (onehot(y) − softmax(z)) / temperature gives the gradient of the logits directly. With a frozen
/// head (LoRA) the gradient of the hidden states is taken as g · (W[y] − softmax(z) · W), which scales [tokens × hidden]
/// values by g instead of [tokens × vocab] ones.</para>
/// <para>Softmax is taken in float32 whatever the dtype of the hidden states (bfloat16 models): each chunk's logits are
/// computed in the model's dtype and widened before the log-sum-exp, as TRL's <c>selective_log_softmax</c> does. Float64
/// inputs (gradient checks) stay in float64.</para>
/// <para>The temperature divides the logits as the sampler does, so that the policy ratio compares the probabilities the
/// tokens were actually sampled with (TRL <c>_get_per_token_logps_and_entropies</c>). No double backward.</para>
/// </remarks>
public static class TokenLogProbs
{
    /// <summary>Float32 logits per chunk when no chunk size is given: 16M values, 64 MiB.</summary>
    private const long DefaultChunkLogits = 16L << 20;

    /// <summary>The default chunk: as many tokens as fit 64 MiB of float32 logits at this vocabulary size (at least 1).</summary>
    public static int DefaultChunkTokens(long vocabSize) => (int)Math.Clamp(DefaultChunkLogits / vocabSize, 1, int.MaxValue);

    /// <summary>Log-probs of <paramref name="targets"/>, differentiable with respect to the hidden states, weight and bias.</summary>
    /// <param name="hidden">[B, T, H] final hidden states; position t is the state that predicts <c>targets[b, t]</c> (already shifted).</param>
    /// <param name="weight">[V, H] the language-model head (the embedding matrix when tied).</param>
    /// <param name="bias">[V] the head's bias, or null (the usual case).</param>
    /// <param name="targets">[B, T] token ids in [0, V); int64 or int32. Padding positions need a valid id (use the pad id) and a 0 in the loss mask.</param>
    /// <param name="temperature">The sampling temperature the logits are divided by.</param>
    /// <param name="chunkTokens">Tokens per chunk; null for <see cref="DefaultChunkTokens"/>.</param>
    /// <returns>[B, T] log-probs, float32 (float64 for float64 inputs).</returns>
    public static Tensor Compute(Tensor hidden, Tensor weight, Tensor? bias, Tensor targets, double temperature = 1.0, int? chunkTokens = null) =>
        Run(hidden, weight, bias, targets, temperature, chunkTokens, withEntropy: false, entropyGradient: false)[0];

    /// <summary>
    /// As <see cref="Compute"/>, and also the entropy H = −Σ p log p of each position's temperature-scaled distribution
    /// ([B, T]), for the <c>entropy</c> metric and <see cref="GrpoOptions.TopEntropyQuantile"/>, and, with
    /// <paramref name="entropyGradient"/>, for the entropy bonus (<see cref="GrpoOptions.EntropyCoef"/>).
    /// </summary>
    /// <param name="entropyGradient">
    /// Whether the entropy carries a gradient (∂H/∂z = −p·(log p + H) / temperature, recomputed chunk by chunk in backward
    /// like the log-probs'); off, it is a constant, as TRL's is when the entropy bonus is off.
    /// </param>
    public static (Tensor LogProbs, Tensor Entropy) ComputeWithEntropy(
        Tensor hidden, Tensor weight, Tensor? bias, Tensor targets, double temperature = 1.0, int? chunkTokens = null, bool entropyGradient = false)
    {
        var outputs = Run(hidden, weight, bias, targets, temperature, chunkTokens, withEntropy: true, entropyGradient);
        return (outputs[0], outputs[1]);
    }

    private static List<Tensor> Run(
        Tensor hidden, Tensor weight, Tensor? bias, Tensor targets, double temperature, int? chunkTokens, bool withEntropy, bool entropyGradient)
    {
        Validate(hidden, weight, bias, targets, temperature, chunkTokens);
        var (batch, length, width) = (hidden.shape[0], hidden.shape[1], hidden.shape[2]);
        var chunk = chunkTokens ?? DefaultChunkTokens(weight.shape[0]);
        // Asked here: forward runs with gradients off, as an autograd function's forward always does.
        bool backwardFollows = is_grad_enabled() && (hidden.requires_grad || weight.requires_grad || (bias?.requires_grad ?? false));
        var outputs = ChunkedLogProbFunction.apply(
            hidden.reshape(batch * length, width), weight, bias, targets.to(ScalarType.Int64).reshape(batch * length),
            temperature, chunk, withEntropy, entropyGradient, backwardFollows);
        return outputs.Select(o => o.reshape(batch, length)).ToList();
    }

    private static void Validate(Tensor hidden, Tensor weight, Tensor? bias, Tensor targets, double temperature, int? chunkTokens)
    {
        if (hidden.dim() != 3)
            throw new ArgumentException($"hidden must be [batch, length, hidden] but has shape [{string.Join(", ", hidden.shape)}].", nameof(hidden));
        if (weight.dim() != 2 || weight.shape[1] != hidden.shape[2])
            throw new ArgumentException(
                $"weight must be [vocab, {hidden.shape[2]}] to match hidden, but has shape [{string.Join(", ", weight.shape)}].", nameof(weight));
        if (bias is not null && (bias.dim() != 1 || bias.shape[0] != weight.shape[0]))
            throw new ArgumentException($"bias must be [{weight.shape[0]}] (one per vocabulary entry) but has shape [{string.Join(", ", bias.shape)}].", nameof(bias));
        if (weight.dtype != hidden.dtype || (bias is not null && bias.dtype != hidden.dtype))
            throw new ArgumentException($"hidden ({hidden.dtype}), weight ({weight.dtype}) and bias must share one dtype; cast them to the model's dtype.", nameof(weight));
        if (targets.dim() != 2 || targets.shape[0] != hidden.shape[0] || targets.shape[1] != hidden.shape[1])
            throw new ArgumentException(
                $"targets must be [{hidden.shape[0]}, {hidden.shape[1]}] to match hidden, but has shape [{string.Join(", ", targets.shape)}].", nameof(targets));
        if (targets.dtype is not (ScalarType.Int64 or ScalarType.Int32))
            throw new ArgumentException($"targets must hold token ids as int64 or int32, not {targets.dtype}.", nameof(targets));
        if (!double.IsFinite(temperature) || temperature <= 0)
            throw new ArgumentOutOfRangeException(nameof(temperature), temperature, "The temperature must be positive, the one the completions were sampled with.");
        if (chunkTokens is < 1)
            throw new ArgumentOutOfRangeException(nameof(chunkTokens), chunkTokens, "Use a positive number of tokens per chunk, or null for the default.");
        if (targets.numel() > 0)
        {
            var low = targets.min().to(ScalarType.Int64).item<long>();
            var high = targets.max().to(ScalarType.Int64).item<long>();
            if (low < 0 || high >= weight.shape[0])
                throw new ArgumentOutOfRangeException(nameof(targets), $"[{low}, {high}]",
                    $"Token ids must lie in [0, {weight.shape[0]}), the head's vocabulary; give padding positions the pad id and mask them out.");
        }
    }

    /// <summary>
    /// The autograd function over flattened tokens. Inputs: hidden [N, H], weight [V, H], bias [V] or null, targets [N]
    /// int64, temperature, chunk size, whether to return entropy, whether the entropy is differentiable, whether a backward
    /// pass will follow. Outputs: log-probs [N] and, when asked, entropy [N]. Saved for backward: the inputs (no copies),
    /// the log-sum-exp per token [N], the entropy [N] when it is differentiable (else null), and the last chunk's
    /// log-softmax [n, V] when a backward pass will follow (else null).
    /// </summary>
    private sealed class ChunkedLogProbFunction : autograd.MultiTensorFunction<ChunkedLogProbFunction>
    {
        public override string Name => nameof(ChunkedLogProbFunction);

        public override List<Tensor> forward(autograd.AutogradContext ctx, params object[] vars)
        {
            var (hidden, weight, bias, targets) = ((Tensor)vars[0], (Tensor)vars[1], vars[2] as Tensor, (Tensor)vars[3]);
            var (temperature, chunk, withEntropy, entropyGradient) = ((double)vars[4], (int)vars[5], (bool)vars[6], (bool)vars[7]);
            var count = hidden.shape[0];
            var dtype = SoftmaxType(hidden);

            using var scope = NewDisposeScope();
            var logProbs = empty(count, dtype, hidden.device);
            var logSumExp = empty(count, dtype, hidden.device);
            var entropy = withEntropy ? empty(count, dtype, hidden.device) : null;
            // The last chunk's log-softmax is kept for backward, which then need not recompute it: one chunk's memory
            // (at most 64 MiB by default) for one chunk's head product less; a batch that fits one chunk recomputes none.
            var backwardFollows = (bool)vars[8];
            Tensor? lastLogP = null;
            for (long start = 0; start < count; start += chunk)
            {
                using var chunkScope = NewDisposeScope();
                var n = Math.Min(chunk, count - start);
                // log_softmax is one kernel that works a row at a time while the row sits in cache, where logsumexp
                // streams the whole chunk through memory several times and allocates a second chunk for z − max.
                var logits = ScaledLogits(hidden.narrow(0, start, n), weight, bias, temperature); // [n, V] in the softmax dtype
                var logP = logits.log_softmax(1);
                var chunkTargets = targets.narrow(0, start, n).unsqueeze(1);
                var picked = logP.gather(1, chunkTargets).squeeze(1);
                logProbs.narrow(0, start, n).copy_(picked);
                logSumExp.narrow(0, start, n).copy_(logits.gather(1, chunkTargets).squeeze(1).sub_(picked)); // z_y − log p_y
                if (entropy is not null)
                    entropy.narrow(0, start, n).copy_(logP.exp().mul_(logP).sum(1).neg_()); // H = −Σ p log p
                if (backwardFollows && start + n == count)
                    lastLogP = logP.MoveToOuterDisposeScope();
            }

            ctx.save_for_backward([hidden, weight, bias!, targets, logSumExp, entropyGradient ? entropy! : null!, lastLogP!]);
            ctx.save_data("temperature", temperature);
            ctx.save_data("chunk", chunk);
            ctx.save_data("needs", new[] { hidden.requires_grad, weight.requires_grad, bias?.requires_grad ?? false });
            List<Tensor> outputs = [logProbs.MoveToOuterDisposeScope()];
            if (entropy is not null)
            {
                outputs.Add(entropy.MoveToOuterDisposeScope());
                if (!entropyGradient)
                    ctx.mark_non_differentiable([outputs[1]]);
            }
            logSumExp.MoveToOuterDisposeScope();
            lastLogP?.MoveToOuterDisposeScope();
            return outputs;
        }

        public override List<Tensor> backward(autograd.AutogradContext ctx, List<Tensor> gradOutputs)
        {
            using var noGrad = torch.no_grad();
            using var scope = NewDisposeScope();
            var saved = ctx.get_saved_variables();
            var (hidden, weight, bias, targets, logSumExp) = (saved[0], saved[1], saved[2], saved[3], saved[4]);
            var temperature = (double)ctx.get_data("temperature");
            var chunk = (int)ctx.get_data("chunk");
            var needs = (bool[])ctx.get_data("needs");
            var gradLogProbs = gradOutputs[0] is { IsInvalid: false } l ? l : zeros(hidden.shape[0], SoftmaxType(hidden), hidden.device); // [N]; zeros when only the entropy is used
            var savedEntropy = Present(saved[5]); // [N], saved when the entropy is differentiable
            var lastLogP = Present(saved[6]); // [n, V] the last chunk's log-softmax, when forward kept it
            // [N] the entropy's upstream gradient, when it is differentiable and used.
            var gradEntropy = savedEntropy is not null && gradOutputs.Count > 1 && gradOutputs[1] is { IsInvalid: false } e ? e : null;
            var count = hidden.shape[0];

            var gradHidden = needs[0] ? zeros_like(hidden) : null; // [N, H]
            var dtype = SoftmaxType(hidden);
            var gradWeight = needs[1] ? zeros(weight.shape, dtype, weight.device) : null; // [V, H], summed in the softmax dtype
            var gradBias = needs[2] ? zeros(bias!.shape, dtype, bias.device) : null; // [V]
            for (long start = 0; start < count; start += chunk)
            {
                using var chunkScope = NewDisposeScope();
                var n = Math.Min(chunk, count - start);
                var hiddenChunk = hidden.narrow(0, start, n);
                var g = gradLogProbs.narrow(0, start, n).unsqueeze(1) / temperature; // [n, 1]
                var logP = lastLogP is not null && start + n == count
                    ? lastLogP.clone() // a copy: the steps below work in place, and a retained graph may run backward again
                    : ScaledLogits(hiddenChunk, weight, bias, temperature).sub_(logSumExp.narrow(0, start, n).unsqueeze(1)); // [n, V]
                if (gradEntropy is null && gradWeight is null && gradBias is null)
                {
                    // A frozen head (LoRA): ∂L/∂h = g · (W[y] − softmax(z) · W), scaled by g after the product, on
                    // [n, H], instead of building g · (onehot(y) − softmax(z)) over the [n, V] chunk first.
                    var spread = logP.exp_().to(hidden.dtype).matmul(weight).to(dtype); // [n, H]
                    var picked = weight.index_select(0, targets.narrow(0, start, n)).to(dtype); // [n, H]
                    gradHidden!.narrow(0, start, n).copy_(picked.sub_(spread).mul_(g));
                    continue;
                }
                Tensor gradLogits;
                if (gradEntropy is null)
                {
                    // ∂L/∂z = g · (onehot(y) − softmax(z)) / temperature, built in place in the recomputed logits' buffer.
                    gradLogits = logP.exp_().mul_(g.neg());
                }
                else
                {
                    // Adds gH · ∂H/∂z = −gH · p · (log p + H) / temperature: p · (−g − gH · (log p + H)).
                    var gH = gradEntropy.narrow(0, start, n).unsqueeze(1) / temperature; // [n, 1]
                    var p = logP.exp();
                    gradLogits = p.mul_(logP.add_(savedEntropy!.narrow(0, start, n).unsqueeze(1)).mul_(gH.neg()).sub_(g));
                }
                gradLogits.scatter_add_(1, targets.narrow(0, start, n).unsqueeze(1), g); // [n, V] in the softmax dtype
                if (gradBias is not null)
                    gradBias.add_(gradLogits.sum(dim: 0));
                var gradLogitsModel = gradLogits.to(hidden.dtype);
                if (gradHidden is not null)
                    gradHidden.narrow(0, start, n).copy_(gradLogitsModel.matmul(weight));
                if (gradWeight is not null)
                    gradWeight.add_(gradLogitsModel.t().matmul(hiddenChunk));
            }

            return
            [
                gradHidden?.MoveToOuterDisposeScope()!,
                gradWeight?.to(weight.dtype).MoveToOuterDisposeScope()!,
                gradBias?.to(bias!.dtype).MoveToOuterDisposeScope()!,
                null!, null!, null!, null!, null!, null!,
            ];
        }

        // A saved tensor, or null where forward saved none.
        private static Tensor? Present(Tensor? saved) => saved is { IsInvalid: false } ? saved : null;

        // [n, V] logits of one chunk in the softmax dtype, divided by the temperature.
        private static Tensor ScaledLogits(Tensor hidden, Tensor weight, Tensor? bias, double temperature)
        {
            var logits = nn.functional.linear(hidden, weight, bias).to(SoftmaxType(hidden));
            return temperature == 1.0 ? logits : logits.div_(temperature);
        }

        private static ScalarType SoftmaxType(Tensor hidden) =>
            hidden.dtype == ScalarType.Float64 ? ScalarType.Float64 : ScalarType.Float32;
    }
}
