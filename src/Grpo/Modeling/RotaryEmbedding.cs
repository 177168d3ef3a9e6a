using TorchSharp;
using static TorchSharp.torch;

namespace Grpo.Modeling;

/// <summary>
/// Rotary position embedding (RoPE): each pair of dimensions (i, i + d/2) of a query or key head is rotated by the
/// angle position x inv_freq[i]. The frequencies, and how <c>rope_scaling</c> stretches them (linear, dynamic NTK,
/// YaRN, Llama 3), follow transformers' <c>modeling_rope_utils</c>; they are computed in float64 on the host.
/// </summary>
public sealed class RotaryEmbedding : nn.Module
{
    private readonly ModelConfig _config;
    // [head_dim / 2] float32; not persistent, so it never appears in a checkpoint (as in transformers).
#pragma warning disable IDE1006
    private readonly Tensor inv_freq;
#pragma warning restore IDE1006
    private readonly double _attentionFactor;

    /// <summary>Frequencies for <paramref name="config"/>, on <paramref name="device"/>.</summary>
    public RotaryEmbedding(ModelConfig config, Device device) : base(nameof(RotaryEmbedding))
    {
        _config = config;
        var (invFreq, attentionFactor) = InverseFrequencies(config, config.MaxPositionEmbeddings);
        inv_freq = tensor(invFreq.Select(f => (float)f).ToArray(), device: device);
        _attentionFactor = attentionFactor;
        register_buffer(nameof(inv_freq), inv_freq, persistent: false);
    }

    /// <summary>
    /// The inverse frequencies [head_dim / 2] and the factor cos and sin are multiplied by, for a forward pass whose
    /// longest sequence is <paramref name="sequenceLength"/> (only dynamic NTK scaling depends on it).
    /// </summary>
    public static (double[] InvFreq, double AttentionFactor) InverseFrequencies(ModelConfig config, long sequenceLength)
    {
        int dim = config.HeadDim;
        double theta = config.RopeTheta;
        var scaling = config.RopeScaling;

        double[] Plain(double baseValue) =>
            Enumerable.Range(0, dim / 2).Select(i => 1.0 / Math.Pow(baseValue, 2.0 * i / dim)).ToArray();

        switch (scaling?.Type)
        {
            case null:
                return (Plain(theta), 1.0);

            case "linear":
                return (Plain(theta).Select(f => f / scaling.Factor).ToArray(), 1.0);

            case "dynamic":
            {
                // NTK-aware: past the configured context, grow the base so the longest wavelength covers the sequence.
                double max = config.MaxPositionEmbeddings;
                double length = Math.Max(sequenceLength, max);
                double grownBase = theta * Math.Pow(scaling.Factor * length / max - (scaling.Factor - 1), dim / (dim - 2.0));
                return (Plain(grownBase), 1.0);
            }

            case "llama3":
            {
                double factor = scaling.Factor;
                double original = scaling.OriginalMaxPositionEmbeddings!.Value;
                double lowFreqWavelength = original / scaling.LowFreqFactor;
                double highFreqWavelength = original / scaling.HighFreqFactor;
                var inv = Plain(theta).Select(f =>
                {
                    double wavelength = 2 * Math.PI / f;
                    if (wavelength < highFreqWavelength) return f;
                    if (wavelength > lowFreqWavelength) return f / factor;
                    double smooth = (original / wavelength - scaling.LowFreqFactor) / (scaling.HighFreqFactor - scaling.LowFreqFactor);
                    return (1 - smooth) * f / factor + smooth * f;
                }).ToArray();
                return (inv, 1.0);
            }

            case "yarn":
            {
                double factor = scaling.Factor;
                double original = scaling.OriginalMaxPositionEmbeddings ?? config.MaxPositionEmbeddings;
                static double MScale(double scale, double m) => scale <= 1 ? 1.0 : 0.1 * m * Math.Log(scale) + 1.0;
                double attention = scaling.AttentionFactor
                    ?? (scaling.Mscale is { } m && m != 0 && scaling.MscaleAllDim is { } mad && mad != 0
                        ? MScale(factor, m) / MScale(factor, mad)
                        : MScale(factor, 1));

                // Dimensions that rotate more than beta_fast times over the original context keep their frequency,
                // those rotating fewer than beta_slow times are interpolated by the factor, a linear ramp in between.
                double CorrectionDim(double rotations) => dim * Math.Log(original / (rotations * 2 * Math.PI)) / (2 * Math.Log(theta));
                double low = CorrectionDim(scaling.BetaFast), high = CorrectionDim(scaling.BetaSlow);
                if (scaling.Truncate) { low = Math.Floor(low); high = Math.Ceiling(high); }
                low = Math.Max(low, 0);
                high = Math.Min(high, dim - 1);
                if (low == high) high += 0.001;

                var inv = Plain(theta).Select((f, i) =>
                {
                    double ramp = Math.Clamp((i - low) / (high - low), 0, 1);
                    double extrapolation = 1 - ramp;
                    return f / factor * (1 - extrapolation) + f * extrapolation;
                }).ToArray();
                return (inv, attention);
            }

            default:
                throw new NotSupportedException($"rope_scaling type '{scaling.Type}' is not supported.");
        }
    }

    /// <summary>
    /// cos and sin [B, 1, T, head_dim] in <paramref name="dtype"/> for positions [B, T], already multiplied by the
    /// attention factor, laid out as transformers does (the half-size angles repeated twice).
    /// </summary>
    public (Tensor Cos, Tensor Sin) CosSin(Tensor positionIds, ScalarType dtype)
    {
        using var scope = NewDisposeScope();
        var invFreq = inv_freq.to(ScalarType.Float32);
        if (_config.RopeScaling?.Type == "dynamic")
        {
            // The one case that depends on the sequence: costs a host sync, and only dynamic-NTK models pay it. As in
            // transformers, keys already in a KV cache keep the rotation they were written with.
            long length = positionIds.max().item<long>() + 1;
            if (length > _config.MaxPositionEmbeddings)
            {
                var (grown, _) = InverseFrequencies(_config, length);
                invFreq = tensor(grown.Select(f => (float)f).ToArray(), device: positionIds.device);
            }
        }
        var angles = positionIds.to(ScalarType.Float32).unsqueeze(-1) * invFreq;   // [B, T, D/2]
        var emb = cat([angles, angles], -1).unsqueeze(1);                           // [B, 1, T, D]
        var cos = emb.cos();
        var sin = emb.sin();
        if (_attentionFactor != 1.0)
        {
            cos.mul_(_attentionFactor);
            sin.mul_(_attentionFactor);
        }
        return (cos.to(dtype).MoveToOuterDisposeScope(), sin.to(dtype).MoveToOuterDisposeScope());
    }

    /// <summary>Rotates x [B, H, T, D] by the angles in cos/sin [B, 1, T, D]: x cos + rotate_half(x) sin.</summary>
    public static Tensor Apply(Tensor x, Tensor cos, Tensor sin)
    {
        using var scope = NewDisposeScope();
        long half = x.shape[^1] / 2;
        var rotated = cat([x.narrow(-1, half, half).neg(), x.narrow(-1, 0, half)], -1);
        return (x * cos + rotated * sin).MoveToOuterDisposeScope();
    }
}
