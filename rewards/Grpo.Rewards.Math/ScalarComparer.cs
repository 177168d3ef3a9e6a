using System.Numerics;

namespace Grpo.Rewards.Math;

/// <summary>
/// Decides whether two scalar expressions are equal, in this order:
/// <list type="number">
/// <item>exactly, on canonical forms (<see cref="ExactForm"/>): rationals, radicals, pi, polynomials;</item>
/// <item>when a decimal literal is involved and there are no variables, by rounding both values to
/// <see cref="MathVerifierOptions.FloatRounding"/> places (Math-Verify's rule: 0.333 is not 1/3, 0.3333333 is);</item>
/// <item>when both exact forms are free of opaque atoms, the exact verdict stands (a non-zero difference of
/// canonical polynomials is non-zero);</item>
/// <item>otherwise by evaluating both at a few seeded random points in complex arithmetic.</item>
/// </list>
/// </summary>
internal sealed class ScalarComparer(MathVerifierOptions options)
{
    // Random points: this many, seeded, with variables drawn from [Low, Low + Width): positive and away from the
    // integers, where principal branches agree with the real ones and coincidences are unlikely.
    const int Points = 5;
    const ulong Seed = 0x6A09E667F3BCC909;
    const double Low = 0.5, Width = 2.0;
    const double RelativeTolerance = 1e-9;

    public bool Equal(MathExpr a, MathExpr b)
    {
        // The common case, two number literals, needs no canonical forms.
        if (a is Num na && b is Num nb)
            return na.Value == nb.Value
                   || ((na.IsDecimal || nb.IsDecimal) && na.Value.RoundToDecimals(options.FloatRounding) == nb.Value.RoundToDecimals(options.FloatRounding));
        MathLimits.Spend(10); // two canonical forms and a comparison cost about ten evaluation steps
        var ea = ExactForm.TryFrom(a);
        var eb = ExactForm.TryFrom(b);
        if (ea is not null && eb is not null && SafeEqual(ea, eb)) return true;

        var variables = ExprRewriter.FreeSymbols(a);
        variables.UnionWith(ExprRewriter.FreeSymbols(b));
        if (variables.Count == 0 && (ExprRewriter.ContainsDecimal(a) || ExprRewriter.ContainsDecimal(b)))
            return RoundedEqual(a, ea, b, eb);
        if (ea is not null && eb is not null && !ea.Has(AtomKind.Opaque) && !eb.Has(AtomKind.Opaque)) return false;
        return NumericallyEqual(a, b, variables);
    }

    static bool SafeEqual(ExactForm a, ExactForm b)
    {
        try { return ExactForm.AreEqual(a, b); }
        catch (MathLimitException) { return false; }
    }

    bool RoundedEqual(MathExpr a, ExactForm? ea, MathExpr b, ExactForm? eb)
    {
        int places = options.FloatRounding;
        if (ea is not null && eb is not null && ea.IsRational(out var ra) && eb.IsRational(out var rb))
            return ra.RoundToDecimals(places) == rb.RoundToDecimals(places);
        var va = NumericEvaluator.Evaluate(a, NumericEvaluator.NoVariables);
        var vb = NumericEvaluator.Evaluate(b, NumericEvaluator.NoVariables);
        if (!NumericEvaluator.IsFinite(va) || !NumericEvaluator.IsFinite(vb)) return false;
        return Round(va.Real, places) == Round(vb.Real, places) && Round(va.Imaginary, places) == Round(vb.Imaginary, places);
    }

    static double Round(double x, int places) => System.Math.Round(x, places, MidpointRounding.AwayFromZero);

    /// <summary>Evaluates both at the seeded points; equal when every point where both are finite agrees.</summary>
    public static bool NumericallyEqual(MathExpr a, MathExpr b, IReadOnlyCollection<string> variables)
    {
        int agreed = 0;
        foreach (var point in SamplePoints(variables))
        {
            var va = NumericEvaluator.Evaluate(a, point);
            var vb = NumericEvaluator.Evaluate(b, point);
            if (!NumericEvaluator.IsFinite(va) || !NumericEvaluator.IsFinite(vb)) continue;
            if (!Close(va, vb)) return false;
            agreed++;
        }
        return agreed >= (variables.Count == 0 ? 1 : 3);
    }

    public static bool Close(Complex a, Complex b) =>
        Complex.Abs(a - b) <= RelativeTolerance * System.Math.Max(1, System.Math.Max(Complex.Abs(a), Complex.Abs(b)));

    /// <summary>The seeded variable assignments used by every numeric comparison (one empty one when there are no variables).</summary>
    public static IEnumerable<IReadOnlyDictionary<string, Complex>> SamplePoints(IReadOnlyCollection<string> variables)
    {
        if (variables.Count == 0) { yield return NumericEvaluator.NoVariables; yield break; }
        ulong state = Seed;
        for (int k = 0; k < Points; k++)
        {
            var point = new Dictionary<string, Complex>();
            foreach (var name in variables) point[name] = Low + Width * NextUnit(ref state);
            yield return point;
        }
    }

    // SplitMix64: a tiny generator whose sequence is fixed forever, unlike System.Random's across runtimes.
    static double NextUnit(ref ulong state)
    {
        ulong z = state += 0x9E3779B97F4A7C15;
        z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9;
        z = (z ^ (z >> 27)) * 0x94D049BB133111EB;
        z ^= z >> 31;
        return (z >> 11) * (1.0 / (1UL << 53));
    }
}
