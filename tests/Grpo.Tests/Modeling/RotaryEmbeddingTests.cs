using Grpo.Modeling;
using TorchSharp;
using static TorchSharp.torch;

namespace Grpo.Tests.Modeling;

public class RotaryEmbeddingTests
{
    private static ModelConfig Head128(double theta, RopeScaling? scaling, int maxPositions) =>
        ModelConfig.Tiny("llama") with
        {
            HiddenSize = 512, NumAttentionHeads = 4, NumKeyValueHeads = 4, HeadDim = 128,
            RopeTheta = theta, RopeScaling = scaling, MaxPositionEmbeddings = maxPositions,
        };

    public static IEnumerable<object[]> Variants() =>
    [
        ["default", Head128(1_000_000, null, 40960)],
        ["linear", Head128(10_000, new RopeScaling { Type = "linear", Factor = 4 }, 8192)],
        ["llama3", Head128(500_000, new RopeScaling { Type = "llama3", Factor = 8, LowFreqFactor = 1, HighFreqFactor = 4, OriginalMaxPositionEmbeddings = 8192 }, 131072)],
        ["yarn", Head128(1_000_000, new RopeScaling { Type = "yarn", Factor = 4, OriginalMaxPositionEmbeddings = 32768 }, 131072)],
        ["yarn-explicit", Head128(10_000, new RopeScaling { Type = "yarn", Factor = 16, BetaFast = 16, BetaSlow = 2, AttentionFactor = 1.3 }, 4096)],
        ["dynamic", Head128(10_000, new RopeScaling { Type = "dynamic", Factor = 2 }, 2048)],
    ];

    [Theory]
    [MemberData(nameof(Variants))]
    public void InverseFrequenciesMatchThePublishedFormulas(string name, ModelConfig config)
    {
        foreach (var seqLen in new long[] { 100, 5000 })
        {
            var (invFreq, attention) = RotaryEmbedding.InverseFrequencies(config, seqLen);
            var expected = HandRope.InvFreq(config, seqLen);
            Assert.Equal(expected.Length, invFreq.Length);
            for (int i = 0; i < expected.Length; i++)
                Assert.True(Math.Abs(invFreq[i] - expected[i]) <= 1e-12 * Math.Max(1, expected[i]), $"{name} inv_freq[{i}] at length {seqLen}: {invFreq[i]} vs {expected[i]}");
            Assert.Equal(HandRope.AttentionFactor(config), attention, 12);
        }
    }

    [Fact]
    public void Llama31BandsKeepHighFrequenciesAndDivideLowOnesByTheFactor()
    {
        var config = (ModelConfig)Variants().Single(v => (string)v[0] == "llama3")[1];
        var (invFreq, _) = RotaryEmbedding.InverseFrequencies(config, 1);
        // Wavelength 2 pi < 8192 / 4: unchanged. Lowest frequency, wavelength far above 8192: divided by 8.
        Assert.Equal(1.0, invFreq[0], 15);
        Assert.Equal(Math.Pow(500_000, -126.0 / 128) / 8, invFreq[63], 15);
    }

    [Fact]
    public void YarnAttentionFactorDefaultsToTheMscaleFormula()
    {
        var config = (ModelConfig)Variants().Single(v => (string)v[0] == "yarn")[1];
        Assert.Equal(0.1 * Math.Log(4) + 1, RotaryEmbedding.InverseFrequencies(config, 1).AttentionFactor, 12);
    }

    [Fact]
    public void DynamicScalingLeavesFrequenciesAloneWithinTheConfiguredContext()
    {
        var config = (ModelConfig)Variants().Single(v => (string)v[0] == "dynamic")[1];
        var inside = RotaryEmbedding.InverseFrequencies(config, 2048).InvFreq;
        var plain = RotaryEmbedding.InverseFrequencies(config with { RopeScaling = null }, 2048).InvFreq;
        Assert.Equal(plain, inside);
        Assert.True(RotaryEmbedding.InverseFrequencies(config, 4096).InvFreq[10] < plain[10]);
    }

    [Fact]
    public void RotatedQueryKeyProductsDependOnlyOnRelativePosition()
    {
        // <R(m) q, R(n) k> = <R(m + s) q, R(n + s) k>: the defining property of rotary embeddings.
        var config = ModelConfig.Tiny("qwen3");
        using var rope = new RotaryEmbedding(config, CPU);
        using var generator = new Generator(7, CPU);
        using var q = randn([1, 1, 1, config.HeadDim], generator: generator);
        using var k = randn([1, 1, 1, config.HeadDim], generator: generator);
        double Dot(long m, long n)
        {
            using var scope = NewDisposeScope();
            var (cm, sm) = rope.CosSin(tensor(new long[] { m }).view(1, 1), ScalarType.Float32);
            var (cn, sn) = rope.CosSin(tensor(new long[] { n }).view(1, 1), ScalarType.Float32);
            return (RotaryEmbedding.Apply(q, cm, sm) * RotaryEmbedding.Apply(k, cn, sn)).sum().item<float>();
        }
        Assert.Equal(Dot(3, 1), Dot(40, 38), 4);
        Assert.Equal(Dot(0, 0), (q * k).sum().item<float>(), 5);
        Assert.NotEqual(Dot(3, 1), Dot(3, 2), 3);
    }

    [Fact]
    public void CosineAtAPositionIsTheAngleTimesTheAttentionFactor()
    {
        var config = ModelConfig.Tiny("qwen3") with { RopeScaling = new RopeScaling { Type = "yarn", Factor = 4, OriginalMaxPositionEmbeddings = 512 } };
        using var rope = new RotaryEmbedding(config, CPU);
        var (cos, sin) = rope.CosSin(tensor(new long[] { 5 }).view(1, 1), ScalarType.Float32);
        var invFreq = HandRope.InvFreq(config);
        double factor = HandRope.AttentionFactor(config);
        int half = config.HeadDim / 2;
        for (int i = 0; i < half; i++)
        {
            Assert.Equal(Math.Cos(5 * invFreq[i]) * factor, cos[0, 0, 0, i].item<float>(), 5);
            Assert.Equal(Math.Cos(5 * invFreq[i]) * factor, cos[0, 0, 0, i + half].item<float>(), 5);
            Assert.Equal(Math.Sin(5 * invFreq[i]) * factor, sin[0, 0, 0, i].item<float>(), 5);
        }
    }
}
