using System.Numerics;

namespace Grpo.Rewards.Math;

/// <summary>
/// Evaluates a scalar expression in complex double precision at given variable values. It is the fallback for
/// what the exact engine keeps opaque (tan^2 y + 1 against sec^2 y) and the source of the decimal a value
/// rounds to. Complex arithmetic makes sqrt(x - 5) at x = 1 a number instead of an error.
/// </summary>
/// <remarks>Never throws: anything undefined (1/0, log 0, an unknown node) evaluates to NaN, which the comparer
/// treats as "no information at this point".</remarks>
internal static class NumericEvaluator
{
    public static readonly IReadOnlyDictionary<string, Complex> NoVariables = new Dictionary<string, Complex>();
    static readonly Complex NaN = new(double.NaN, double.NaN);

    public static bool IsFinite(Complex z) => double.IsFinite(z.Real) && double.IsFinite(z.Imaginary);

    public static Complex Evaluate(MathExpr e, IReadOnlyDictionary<string, Complex> variables)
    {
        try { return Eval(e, variables); }
        catch (MathLimitException) { return NaN; }
        catch (ArithmeticException) { return NaN; }
    }

    static Complex Eval(MathExpr e, IReadOnlyDictionary<string, Complex> vars)
    {
        MathLimits.Spend(1);
        switch (e)
        {
            case Num n: return n.Value.ToDouble();
            case Sym s: return vars.TryGetValue(s.Name, out var v) ? v : NaN;
            case Const c:
                return c.Kind switch
                {
                    ConstantKind.Pi => System.Math.PI, ConstantKind.E => System.Math.E, ConstantKind.I => Complex.ImaginaryOne,
                    _ => double.PositiveInfinity,
                };
            case Neg n: return -Eval(n.Operand, vars);
            case Add a:
            {
                Complex sum = 0;
                foreach (var t in a.Terms) sum += Eval(t, vars);
                return sum;
            }
            case Mul m:
            {
                Complex product = 1;
                foreach (var f in m.Factors) product *= Eval(f, vars);
                return product;
            }
            case Div d:
            {
                var denominator = Eval(d.Denominator, vars);
                return denominator == Complex.Zero ? NaN : Eval(d.Numerator, vars) / denominator;
            }
            case Pow p: return Power(Eval(p.Base, vars), Eval(p.Exponent, vars));
            case Root r:
            {
                var x = Eval(r.Radicand, vars);
                // Odd roots of negative reals are real, as in the exact engine.
                if (x.Imaginary == 0 && x.Real < 0 && r.Index % 2 == 1) return -System.Math.Pow(-x.Real, 1.0 / r.Index);
                return r.Index == 2 ? Complex.Sqrt(x) : Power(x, 1.0 / r.Index);
            }
            case Percent pc: return Eval(pc.Operand, vars) / 100;
            case Call c: return EvalCall(c, vars);
            default: return NaN;
        }
    }

    static Complex Power(Complex b, Complex e)
    {
        if (b == Complex.Zero) return e.Real > 0 ? Complex.Zero : NaN;
        if (e.Imaginary == 0 && e.Real == System.Math.Round(e.Real) && System.Math.Abs(e.Real) <= 64 && b.Imaginary == 0)
            return System.Math.Pow(b.Real, e.Real);
        return Complex.Pow(b, e);
    }

    static Complex EvalCall(Call c, IReadOnlyDictionary<string, Complex> vars)
    {
        if (c is { Name: "sum" or "prod", Args: [Sym index, var fromExpr, var toExpr, var body] })
            return EvalSeries(c.Name == "sum", index.Name, Eval(fromExpr, vars), Eval(toExpr, vars), body, vars);
        var x = Eval(c.Args[0], vars);
        return c.Name switch
        {
            "sin" => Complex.Sin(x),
            "cos" => Complex.Cos(x),
            "tan" => Complex.Tan(x),
            "sec" => 1 / Complex.Cos(x),
            "csc" => 1 / Complex.Sin(x),
            "cot" => Complex.Cos(x) / Complex.Sin(x),
            "arcsin" => Complex.Asin(x),
            "arccos" => Complex.Acos(x),
            "arctan" => Complex.Atan(x),
            "sinh" => Complex.Sinh(x),
            "cosh" => Complex.Cosh(x),
            "tanh" => Complex.Tanh(x),
            "ln" => x == Complex.Zero ? NaN : Complex.Log(x),
            "exp" => Complex.Exp(x),
            "abs" => Complex.Abs(x),
            "floor" when x.Imaginary == 0 => System.Math.Floor(x.Real),
            "ceil" when x.Imaginary == 0 => System.Math.Ceiling(x.Real),
            "factorial" when x.Imaginary == 0 && x.Real >= 0 && x.Real <= 170 && x.Real == System.Math.Round(x.Real) => Factorial((int)x.Real),
            "binom" => Binomial(x, Eval(c.Args[1], vars)),
            _ => NaN,
        };
    }

    static double Factorial(int n)
    {
        double f = 1;
        for (int i = 2; i <= n; i++) f *= i;
        return f;
    }

    static Complex Binomial(Complex n, Complex k)
    {
        if (n.Imaginary != 0 || k.Imaginary != 0 || k.Real != System.Math.Round(k.Real) || k.Real < 0 || k.Real > 1000) return NaN;
        Complex result = 1;
        for (int i = 1; i <= (int)k.Real; i++) result = result * (n - (k.Real - i)) / i;
        return result;
    }

    static Complex EvalSeries(bool isSum, string index, Complex from, Complex to, MathExpr body, IReadOnlyDictionary<string, Complex> vars)
    {
        if (from.Imaginary != 0 || to.Imaginary != 0 || !double.IsFinite(from.Real) || !double.IsFinite(to.Real)) return NaN;
        double a = System.Math.Round(from.Real), b = System.Math.Round(to.Real);
        if (System.Math.Abs(a - from.Real) > 1e-9 || System.Math.Abs(b - to.Real) > 1e-9 || b - a > 10_000) return NaN;
        var inner = new Dictionary<string, Complex>(vars);
        Complex result = isSum ? 0 : 1;
        for (double k = a; k <= b; k++)
        {
            inner[index] = k;
            var term = Eval(body, inner);
            result = isSum ? result + term : result * term;
        }
        return result;
    }
}
