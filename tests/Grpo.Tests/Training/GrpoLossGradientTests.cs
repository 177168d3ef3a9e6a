using Grpo.Training;
using TorchSharp;
using static TorchSharp.torch;

namespace Grpo.Tests.Training;

/// <summary>
/// Gradients of the whole chain, hidden states → chunked log-probs → GRPO loss, in float64: against finite differences,
/// and on-policy against the plain policy gradient −Σ A · m · w · ∇ log p.
/// </summary>
public class GrpoLossGradientTests
{
    private const int B = 2, T = 3, H = 4, V = 7;

    /// <summary>
    /// A float64 batch of two rows of three tokens: random hidden states, head weight and targets from
    /// <paramref name="seed"/>, the second row one token shorter, one positive and one negative advantage.
    /// </summary>
    private static (Tensor Hidden, Tensor Weight, Tensor Targets, Tensor Mask, Tensor Advantages) RandomBatch(ulong seed)
    {
        var generator = new Generator(seed);
        return (randn([B, T, H], ScalarType.Float64, generator: generator), randn([V, H], ScalarType.Float64, generator: generator),
            randint(V, [B, T], generator: generator), tensor(new double[,] { { 1, 1, 1 }, { 1, 1, 0 } }), tensor(new[] { 0.9, -1.1 }));
    }

    /// <summary>Each element of <paramref name="gradient"/> (autograd's, at <paramref name="hidden"/>) within 1e-7 of the central difference of <paramref name="loss"/>.</summary>
    private static void AssertMatchesFiniteDifferences(Tensor gradient, Tensor hidden, Func<Tensor, double> loss)
    {
        const double step = 1e-6;
        var analytic = gradient.data<double>().ToArray();
        for (var i = 0; i < analytic.Length; i++)
        {
            var up = hidden.clone();
            up.reshape(-1)[i] += step;
            var down = hidden.clone();
            down.reshape(-1)[i] -= step;
            var numeric = (loss(up) - loss(down)) / (2 * step);
            Assert.True(Math.Abs(numeric - analytic[i]) < 1e-7, $"element {i}: autograd {analytic[i]}, finite difference {numeric}");
        }
    }

    [Theory]
    [InlineData(LossType.Dapo, ImportanceSamplingLevel.Token)]
    [InlineData(LossType.Grpo, ImportanceSamplingLevel.Sequence)]
    [InlineData(LossType.DrGrpo, ImportanceSamplingLevel.Token)]
    public void TheLossGradientWithRespectToHiddenStatesMatchesFiniteDifferences(LossType lossType, ImportanceSamplingLevel level)
    {
        using var scope = NewDisposeScope();
        var (hidden, weight, targets, mask, advantages) = RandomBatch(seed: 7);
        var current = TokenLogProbs.Compute(hidden, weight, null, targets, 0.8, 2);
        // π_old away from π so that, per token, row 0 (A > 0) has r = 1.65 (high-clipped, capped by δ = 1.6), 0.67, 1.11
        // and row 1 (A < 0) has r = 0.70 (low-clipped), 1.82 (capped): every ratio well away from a kink.
        var old = current - tensor(new double[,] { { 0.5, -0.4, 0.1 }, { -0.35, 0.6, 0.2 } });
        var reference = current + tensor(new double[,] { { 0.2, -0.3, 0.1 }, { 0.4, -0.1, 0.3 } });
        var loss = new GrpoLoss(GrpoLossSettings.From(new GrpoOptions
        {
            LossType = lossType, ImportanceSamplingLevel = level, Beta = 0.1, EpsilonHigh = 0.28, Delta = 1.6, MaxCompletionLength = 5,
        }));

        double Loss(Tensor h) => loss.Compute(new GrpoLossInputs
        {
            LogProbs = TokenLogProbs.Compute(h, weight, null, targets, 0.8, 2),
            OldLogProbs = old, RefLogProbs = reference, Advantages = advantages, CompletionMask = mask,
        }).Loss.item<double>();

        var leaf = hidden.clone().requires_grad_();
        var result = loss.Compute(new GrpoLossInputs
        {
            LogProbs = TokenLogProbs.Compute(leaf, weight, null, targets, 0.8, 2),
            OldLogProbs = old, RefLogProbs = reference, Advantages = advantages, CompletionMask = mask,
        });
        result.Loss.backward();
        if (level == ImportanceSamplingLevel.Token)
            Assert.Equal(2.0 / 5, result.ClipRatioRegion!.Value, 12);
        AssertMatchesFiniteDifferences(leaf.grad!, hidden, Loss);
    }

    [Fact]
    public void OnPolicyTheHiddenGradientIsThePlainPolicyGradient()
    {
        using var scope = NewDisposeScope();
        var generator = new Generator(11);
        var hidden = randn([B, T, H], ScalarType.Float64, generator: generator).requires_grad_();
        var weight = randn([V, H], ScalarType.Float64, generator: generator);
        var targets = randint(V, [B, T], generator: generator);
        var mask = tensor(new double[,] { { 1, 1, 1 }, { 1, 0, 0 } });
        var advantages = tensor(new[] { 0.7, -0.4 });

        var result = new GrpoLoss(GrpoLossSettings.From(new GrpoOptions())).Compute(new GrpoLossInputs
        {
            LogProbs = TokenLogProbs.Compute(hidden, weight, null, targets, 1.0, 3),
            Advantages = advantages, CompletionMask = mask,
        });
        result.Loss.backward();
        var grpoGradient = hidden.grad!.clone();
        hidden.grad!.zero_();

        // DAPO's plain surrogate: −Σ A_b · m_bt · log p_bt / (active tokens), log p by the naive log-softmax.
        var naiveLogp = nn.functional.linear(hidden, weight).log_softmax(-1).gather(-1, targets.unsqueeze(-1)).squeeze(-1);
        (-(advantages.unsqueeze(1) * mask * naiveLogp).sum() / 4.0).backward();

        TokenLogProbsTests.AssertClose(hidden.grad!, grpoGradient, 1e-12);
        Assert.Equal(0.0, result.ClipRatioRegion);
    }

    [Theory]
    [InlineData(LossType.Dapo, 1.0)]
    [InlineData(LossType.Grpo, 1.0)]
    [InlineData(LossType.Sapo, 0.5)]
    [InlineData(LossType.Luspo, 0.5)]
    public void WithTheEntropyBonusTheGradientMatchesFiniteDifferences(LossType lossType, double topEntropyQuantile)
    {
        // L − coef·H with H the chunked entropy carrying its gradient: autograd through both against central differences of
        // the whole loss (log-probs and entropies recomputed), β > 0 and an off-policy π_old so every term moves.
        using var scope = NewDisposeScope();
        var (hidden, weight, targets, mask, advantages) = RandomBatch(seed: 13);
        var current = TokenLogProbs.Compute(hidden, weight, null, targets, 0.8, 2);
        var old = current - tensor(new double[,] { { 0.05, -0.1, 0.1 }, { -0.05, 0.08, 0.2 } });
        var reference = current + tensor(new double[,] { { 0.2, -0.3, 0.1 }, { 0.4, -0.1, 0.3 } });
        var loss = new GrpoLoss(new GrpoLossSettings
        {
            LossType = lossType, Beta = 0.1, EpsilonHigh = 5.0, EntropyCoef = 0.3, TopEntropyQuantile = topEntropyQuantile, MaxCompletionLength = 5,
        });

        GrpoLossResult Compute(Tensor h)
        {
            var (logProbs, entropies) = TokenLogProbs.ComputeWithEntropy(h, weight, null, targets, 0.8, 2, entropyGradient: true);
            return loss.Compute(new GrpoLossInputs
            {
                LogProbs = logProbs, OldLogProbs = old, RefLogProbs = reference, Entropies = entropies,
                Advantages = advantages, CompletionMask = mask, ActiveTokensInStep = 7, MicroBatchesInStep = 2,
            });
        }

        var leaf = hidden.clone().requires_grad_();
        var result = Compute(leaf);
        result.Loss.backward();
        Assert.NotNull(result.PolicyLoss);
        AssertMatchesFiniteDifferences(leaf.grad!, hidden, h => Compute(h).Loss.item<double>());

        // Without the entropy's gradient the bonus would be a constant: the loss refuses such entropies.
        var (plainLogProbs, constantEntropies) = TokenLogProbs.ComputeWithEntropy(hidden.clone().requires_grad_(), weight, null, targets, 0.8, 2);
        var error = Assert.Throws<ArgumentException>(() => loss.Compute(new GrpoLossInputs
        {
            LogProbs = plainLogProbs, OldLogProbs = old, RefLogProbs = reference, Entropies = constantEntropies, Advantages = advantages, CompletionMask = mask,
        }));
        Assert.Contains("entropyGradient: true", error.Message);
    }
}
