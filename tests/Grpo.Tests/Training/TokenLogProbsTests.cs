using Grpo.Training;
using TorchSharp;
using static TorchSharp.torch;

namespace Grpo.Tests.Training;

/// <summary>
/// The chunked log-probs against the naive computation, <c>log_softmax(linear(h, W, b) / τ)</c> gathered at the targets,
/// with autograd through both, in float64.
/// </summary>
public class TokenLogProbsTests
{
    private const int B = 2, T = 6, H = 5, V = 11;
    private const double Temperature = 0.7;

    [Theory]
    [InlineData(1)]
    [InlineData(3)]
    [InlineData(7)]
    [InlineData(12)]
    [InlineData(100)]
    public void ValuesAndGradientsEqualTheNaiveLogSoftmax(int chunkTokens)
    {
        using var scope = NewDisposeScope();
        var (hidden, weight, bias, targets, upstream) = Problem(ScalarType.Float64, seed: 1);

        var (chunked, entropy) = TokenLogProbs.ComputeWithEntropy(hidden, weight, bias, targets, Temperature, chunkTokens);
        (chunked * upstream).sum().backward();
        var (gh, gw, gb) = (hidden.grad!.clone(), weight.grad!.clone(), bias.grad!.clone());
        foreach (var p in new[] { hidden, weight, bias }) p.grad!.zero_();

        var logSoftmax = nn.functional.linear(hidden, weight, bias).div(Temperature).log_softmax(-1);
        var naive = logSoftmax.gather(-1, targets.unsqueeze(-1)).squeeze(-1);
        (naive * upstream).sum().backward();

        Assert.Equal(new long[] { B, T }, chunked.shape);
        AssertClose(naive, chunked, 1e-12);
        AssertClose(-(logSoftmax.exp() * logSoftmax).sum(-1), entropy, 1e-12);
        AssertClose(hidden.grad!, gh, 1e-12);
        AssertClose(weight.grad!, gw, 1e-12);
        AssertClose(bias.grad!, gb, 1e-12);
        Assert.False(entropy.requires_grad);
    }

    [Theory]
    [InlineData(true)]
    [InlineData(false)]
    public void ABackwardRunAgainOnARetainedGraphGivesTheSameGradients(bool trainedHead)
    {
        // The last chunk's log-softmax is kept from forward; backward must leave it as it found it.
        using var scope = NewDisposeScope();
        var (hidden, weight, bias, targets, upstream) = Problem(ScalarType.Float64, seed: 3);
        weight.requires_grad_(trainedHead);
        bias.requires_grad_(trainedHead);
        var loss = (TokenLogProbs.Compute(hidden, weight, bias, targets, Temperature, 5) * upstream).sum();
        loss.backward(retain_graph: true);
        var first = hidden.grad!.clone();
        hidden.grad!.zero_();
        loss.backward();
        var second = hidden.grad!.clone();
        hidden.grad!.zero_();

        var naive = nn.functional.linear(hidden, weight, bias).div(Temperature).log_softmax(-1).gather(-1, targets.unsqueeze(-1)).squeeze(-1);
        (naive * upstream).sum().backward();
        AssertClose(hidden.grad!, first, 1e-12);
        AssertClose(hidden.grad!, second, 1e-12);
    }

    [Theory]
    [InlineData(1, true, true)]
    [InlineData(4, true, true)]
    [InlineData(100, true, true)]
    [InlineData(5, false, true)]
    [InlineData(5, true, false)]
    public void AnEntropyWithGradientMatchesTheUnchunkedFloat64Autograd(int chunkTokens, bool useLogProbs, bool useEntropy)
    {
        using var scope = NewDisposeScope();
        var (hidden, weight, bias, targets, upstream) = Problem(ScalarType.Float64, seed: 5);
        var entropyUpstream = randn([B, T], ScalarType.Float64, generator: new Generator(6));

        var (chunked, entropy) = TokenLogProbs.ComputeWithEntropy(hidden, weight, bias, targets, Temperature, chunkTokens, entropyGradient: true);
        Objective(chunked, entropy).backward();
        var (gh, gw, gb) = (hidden.grad!.clone(), weight.grad!.clone(), bias.grad!.clone());
        foreach (var p in new[] { hidden, weight, bias }) p.grad!.zero_();

        var logSoftmax = nn.functional.linear(hidden, weight, bias).div(Temperature).log_softmax(-1);
        Objective(logSoftmax.gather(-1, targets.unsqueeze(-1)).squeeze(-1), -(logSoftmax.exp() * logSoftmax).sum(-1)).backward();

        Assert.True(entropy.requires_grad);
        AssertClose(hidden.grad!, gh, 1e-12);
        AssertClose(weight.grad!, gw, 1e-12);
        AssertClose(bias.grad!, gb, 1e-12);

        Tensor Objective(Tensor logProbs, Tensor entropies) =>
            (useLogProbs ? (logProbs * upstream).sum() : zeros(1, ScalarType.Float64).sum()) +
            (useEntropy ? (entropies * entropyUpstream).sum() : zeros(1, ScalarType.Float64).sum());
    }

    [Theory]
    [InlineData(1.0, false)]
    [InlineData(Temperature, false)]
    [InlineData(Temperature, true)]
    public void AFrozenHeadGivesGradientsToTheHiddenStatesOnly(double temperature, bool withBias)
    {
        using var scope = NewDisposeScope();
        var (hidden, weight, bias, targets, upstream) = Problem(ScalarType.Float64, seed: 2);
        weight.requires_grad_(false);
        bias.requires_grad_(false);
        var headBias = withBias ? bias : null;

        (TokenLogProbs.Compute(hidden, weight, headBias, targets, temperature, 4) * upstream).sum().backward();
        var chunkedGrad = hidden.grad!.clone();
        hidden.grad!.zero_();
        var naive = nn.functional.linear(hidden, weight, headBias).div(temperature).log_softmax(-1).gather(-1, targets.unsqueeze(-1)).squeeze(-1);
        (naive * upstream).sum().backward();

        AssertClose(hidden.grad!, chunkedGrad, 1e-12);
        Assert.Null(weight.grad);
        Assert.Null(bias.grad);
        AssertClose(naive, TokenLogProbs.Compute(hidden, weight, headBias, targets.to(ScalarType.Int32), temperature, 4), 1e-12);
    }

    [Fact]
    public void BFloat16HiddenStatesGiveFloat32LogProbsCloseToFloat32Math()
    {
        using var scope = NewDisposeScope();
        var (hidden64, weight64, _, targets, _) = Problem(ScalarType.Float64, seed: 3);
        var hidden = hidden64.detach().to(ScalarType.BFloat16).requires_grad_();
        var weight = weight64.detach().to(ScalarType.BFloat16);

        var chunked = TokenLogProbs.Compute(hidden, weight, null, targets, Temperature, 5);
        chunked.sum().backward();

        // The same bfloat16-rounded numbers, in float64 all the way: only the bfloat16 logits' rounding differs.
        var exact = nn.functional.linear(hidden.detach().to(ScalarType.Float64), weight.to(ScalarType.Float64))
            .div(Temperature).log_softmax(-1).gather(-1, targets.unsqueeze(-1)).squeeze(-1);
        Assert.Equal(ScalarType.Float32, chunked.dtype);
        Assert.Equal(ScalarType.BFloat16, hidden.grad!.dtype);
        AssertClose(exact, chunked.to(ScalarType.Float64), 0.05);
        Assert.True(hidden.grad!.to(ScalarType.Float32).isfinite().all().item<bool>());
    }

    [Fact]
    public void BadInputsAreNamed()
    {
        using var scope = NewDisposeScope();
        var (hidden, weight, bias, targets, _) = Problem(ScalarType.Float64, seed: 4);
        var outOfRange = targets.clone();
        outOfRange[0, 0] = tensor(V);
        var error = Assert.Throws<ArgumentOutOfRangeException>(() => TokenLogProbs.Compute(hidden, weight, bias, outOfRange));
        Assert.Contains($"[0, {V})", error.Message);
        Assert.Contains("weight must be [vocab, 5]", Assert.Throws<ArgumentException>(() => TokenLogProbs.Compute(hidden, weight.t(), bias, targets)).Message);
        Assert.Contains("targets must be [2, 6]", Assert.Throws<ArgumentException>(() => TokenLogProbs.Compute(hidden, weight, bias, targets[.., ..3])).Message);
        Assert.Throws<ArgumentOutOfRangeException>(() => TokenLogProbs.Compute(hidden, weight, bias, targets, temperature: 0));
    }

    [Fact]
    public void TheDefaultChunkHoldsAbout64MiBOfLogits()
    {
        Assert.Equal(524, TokenLogProbs.DefaultChunkTokens(32_000));
        Assert.Equal(110, TokenLogProbs.DefaultChunkTokens(151_936));
        Assert.Equal(1, TokenLogProbs.DefaultChunkTokens(1L << 30));
    }

    internal static (Tensor Hidden, Tensor Weight, Tensor Bias, Tensor Targets, Tensor Upstream) Problem(ScalarType dtype, int seed)
    {
        var generator = new Generator((ulong)seed);
        var hidden = randn([B, T, H], dtype, generator: generator).requires_grad_();
        var weight = randn([V, H], dtype, generator: generator).requires_grad_();
        var bias = randn([V], dtype, generator: generator).requires_grad_();
        var targets = randint(V, [B, T], generator: generator);
        var upstream = randn([B, T], dtype, generator: generator); // an arbitrary d loss / d logp, so every gradient term matters
        return (hidden, weight, bias, targets, upstream);
    }

    internal static void AssertClose(Tensor expected, Tensor actual, double tolerance)
    {
        Assert.Equal(expected.shape, actual.shape);
        var difference = (expected.to(ScalarType.Float64) - actual.to(ScalarType.Float64)).abs().max().item<double>();
        Assert.True(difference <= tolerance, $"largest difference {difference} exceeds {tolerance}");
    }
}
