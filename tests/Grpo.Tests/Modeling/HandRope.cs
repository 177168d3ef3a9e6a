using Grpo.Modeling;

namespace Grpo.Tests.Modeling;

/// <summary>
/// RoPE inverse frequencies written out from the published formulas, in float64, independently of
/// <see cref="RotaryEmbedding"/>: RoFormer (default), position interpolation (linear), NTK-aware dynamic scaling,
/// YaRN (Peng et al. 2023, section 3) and Llama 3.1's wavelength bands.
/// </summary>
internal static class HandRope
{
    public static double[] InvFreq(ModelConfig c, long seqLen = 0)
    {
        int d = c.HeadDim;
        var plain = new double[d / 2];
        for (int i = 0; i < d / 2; i++) plain[i] = Math.Pow(c.RopeTheta, -(2.0 * i) / d);
        var s = c.RopeScaling;
        if (s is null) return plain;
        var result = new double[d / 2];
        for (int i = 0; i < d / 2; i++)
        {
            switch (s.Type)
            {
                case "linear":
                    result[i] = plain[i] / s.Factor;
                    break;
                case "dynamic":
                {
                    double L = Math.Max(seqLen, c.MaxPositionEmbeddings);
                    double b = c.RopeTheta * Math.Pow(s.Factor * L / c.MaxPositionEmbeddings - s.Factor + 1, (double)d / (d - 2));
                    result[i] = Math.Pow(b, -(2.0 * i) / d);
                    break;
                }
                case "llama3":
                {
                    double lambda = 2 * Math.PI / plain[i];
                    double old = s.OriginalMaxPositionEmbeddings!.Value;
                    if (lambda < old / s.HighFreqFactor) result[i] = plain[i];
                    else if (lambda > old / s.LowFreqFactor) result[i] = plain[i] / s.Factor;
                    else
                    {
                        double smooth = (old / lambda - s.LowFreqFactor) / (s.HighFreqFactor - s.LowFreqFactor);
                        result[i] = (1 - smooth) * plain[i] / s.Factor + smooth * plain[i];
                    }
                    break;
                }
                case "yarn":
                {
                    // Dimension index at which a frequency completes r rotations over the original context.
                    double L = s.OriginalMaxPositionEmbeddings ?? c.MaxPositionEmbeddings;
                    double Dim(double r) => d * Math.Log(L / (2 * Math.PI * r)) / (2 * Math.Log(c.RopeTheta));
                    double lo = Math.Max(Math.Floor(Dim(s.BetaFast)), 0), hi = Math.Min(Math.Ceiling(Dim(s.BetaSlow)), d - 1);
                    double gamma = Math.Min(1, Math.Max(0, (i - lo) / (hi - lo)));   // 0: keep, 1: interpolate
                    result[i] = (1 - gamma) * plain[i] + gamma * plain[i] / s.Factor;
                    break;
                }
            }
        }
        return result;
    }

    public static double AttentionFactor(ModelConfig c) =>
        c.RopeScaling is { Type: "yarn" } s ? s.AttentionFactor ?? 0.1 * Math.Log(s.Factor) + 1 : 1.0;
}
