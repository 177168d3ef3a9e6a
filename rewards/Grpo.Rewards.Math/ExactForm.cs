using System.Numerics;

namespace Grpo.Rewards.Math;

/// <summary>
/// The exact value of a scalar expression: a quotient of two canonical <see cref="Polynomial"/>s. Rationals,
/// radicals of rationals, pi, e, i and polynomials in variables are represented exactly; whatever else appears
/// (sin x, 2^x, nested radicals) is an opaque atom named by its own exact form, so identical sub-expressions
/// still cancel.
/// </summary>
/// <remarks>Equality of two forms a/b and c/d is decided by ad - bc == 0 on canonical polynomials. It is exact
/// (no false "equal") and complete when neither side has opaque atoms; with opaque atoms a non-zero difference
/// may still be zero (sin^2 + cos^2 - 1), and the comparer falls back to numeric evaluation.</remarks>
internal sealed class ExactForm
{
    public Polynomial Numerator { get; }
    public Polynomial Denominator { get; }

    public static readonly ExactForm Zero = new(Polynomial.Zero, Polynomial.One);
    public static readonly ExactForm One = new(Polynomial.One, Polynomial.One);

    const int MaxPolynomialPower = 64;
    const int MaxFactorial = 300;
    const int MaxExpandedSum = 200;
    // One exact form may use this much of a check's budget; the rest stays for numeric evaluation.
    const long ExactBudget = MathLimits.WorkBudget / 4;

    ExactForm(Polynomial numerator, Polynomial denominator)
    {
        Numerator = numerator;
        Denominator = denominator;
    }

    public static ExactForm FromPolynomial(Polynomial p) => new(p, Polynomial.One);
    public static ExactForm Constant(BigRational value) => FromPolynomial(Polynomial.Constant(value));
    static ExactForm OfAtom(Atom atom) => FromPolynomial(Polynomial.Term(BigRational.One, Monomial.Of(atom, BigRational.One).Monomial));

    /// <summary>n/d in canonical form: a one-term denominator is folded into the numerator, otherwise the
    /// denominator's leading coefficient is made 1.</summary>
    static ExactForm Create(Polynomial n, Polynomial d)
    {
        if (d.IsZero) throw new DivideByZeroException();
        if (n.IsZero) return Zero;
        if (d.IsSingleTerm(out var c, out var m))
        {
            var (factor, inverse) = m.Power(BigRational.MinusOne);
            return new(n * Polynomial.Term(factor / c, inverse), Polynomial.One);
        }
        var lead = d.LeadingCoefficient;
        return lead.IsOne ? new(n, d) : new(n.Scale(lead.Reciprocal()), d.Scale(lead.Reciprocal()));
    }

    public string Key => Denominator.IsRational(out var one) && one.IsOne ? Numerator.Key : $"({Numerator.Key})/({Denominator.Key})";

    public bool IsRational(out BigRational value)
    {
        value = BigRational.Zero;
        return Denominator.IsRational(out var d) && d.IsOne && Numerator.IsRational(out value);
    }

    public bool IsZero => Numerator.IsZero;

    /// <summary>True when an atom of the given kind appears.</summary>
    public bool Has(AtomKind kind) => Numerator.AnyAtom(a => a.Kind == kind) || Denominator.AnyAtom(a => a.Kind == kind);

    public static ExactForm operator +(ExactForm a, ExactForm b) =>
        a.Denominator.Key == b.Denominator.Key
            ? Create(a.Numerator + b.Numerator, a.Denominator)
            : Create(a.Numerator * b.Denominator + b.Numerator * a.Denominator, a.Denominator * b.Denominator);
    public static ExactForm operator -(ExactForm a) => new(-a.Numerator, a.Denominator);
    public static ExactForm operator -(ExactForm a, ExactForm b) => a + (-b);
    public static ExactForm operator *(ExactForm a, ExactForm b) => Create(a.Numerator * b.Numerator, a.Denominator * b.Denominator);
    public static ExactForm operator /(ExactForm a, ExactForm b) => Create(a.Numerator * b.Denominator, a.Denominator * b.Numerator);

    /// <summary>True when a and b are the same value (cross-multiplied difference is the zero polynomial).</summary>
    public static bool AreEqual(ExactForm a, ExactForm b) =>
        a.Key == b.Key || (a.Numerator * b.Denominator - b.Numerator * a.Denominator).IsZero;

    // ---- building from an expression ------------------------------------------------------------------------

    /// <summary>The exact form of a scalar expression; null for non-scalars (tuples, relations), undefined
    /// values (1/0, 0^0) or anything past the size limits.</summary>
    public static ExactForm? TryFrom(MathExpr e) => MathLimits.Capped<ExactForm?>(ExactBudget, () =>
    {
        try { return Build(e); }
        catch (NotExactException) { return null; }
        catch (DivideByZeroException) { return null; }
    }, null);

    static ExactForm Build(MathExpr e)
    {
        MathLimits.Spend(1);
        switch (e)
        {
            case Num n: return Constant(n.Value);
            case Sym s: return OfAtom(Atom.Variable(s.Name));
            case Const c:
                return OfAtom(c.Kind switch
                {
                    ConstantKind.Pi => Atom.Pi, ConstantKind.E => Atom.E, ConstantKind.I => Atom.I, _ => Atom.Infinity,
                });
            case Neg n: return -Build(n.Operand);
            case Add a:
            {
                var sum = Zero;
                foreach (var t in a.Terms) sum += Build(t);
                return sum;
            }
            case Mul m:
            {
                var product = One;
                foreach (var f in m.Factors) product *= Build(f);
                return product;
            }
            case Div d: return Build(d.Numerator) / Build(d.Denominator);
            case Pow p: return BuildPower(p.Base, p.Exponent);
            case Root r:
            {
                var radicand = Build(r.Radicand);
                return radicand.IsRational(out var c) && Radicals.Power(c, new BigRational(1, r.Index)) is { } exact
                    ? exact
                    : Opaque("root" + r.Index, radicand);
            }
            case Call c: return BuildCall(c);
            case Percent pc: return Build(pc.Operand) / Constant(100);
            default: throw new NotExactException();
        }
    }

    static ExactForm Opaque(string name, params ExactForm[] args) =>
        OfAtom(Atom.Opaque(name + "(" + string.Join(",", args.Select(a => a.Key)) + ")"));

    static ExactForm BuildPower(MathExpr baseExpr, MathExpr exponentExpr)
    {
        var exponent = Build(exponentExpr);
        if (baseExpr is Const { Kind: ConstantKind.E })
            return exponent.IsZero ? One : Opaque("exp", exponent);
        var b = Build(baseExpr);
        if (!exponent.IsRational(out var r)) return Opaque("pow", b, exponent);
        try
        {
            if (r.IsInteger) return IntegerPower(b, r.Numerator);
            if (b.IsRational(out var c) && Radicals.Power(c, r) is { } exact) return exact;
        }
        catch (MathLimitException) when (!r.IsInteger || BigInteger.Abs(r.Numerator) > 1)
        {
            // 10^{10^{10}}: too large to expand, still comparable as an atom with the same base and exponent.
        }
        return Opaque("pow", b, exponent);
    }

    static ExactForm IntegerPower(ExactForm b, BigInteger k)
    {
        if (k.IsZero) return b.IsZero ? throw new DivideByZeroException() : One; // 0^0 is left undefined
        if (b.IsZero) return k.Sign > 0 ? Zero : throw new DivideByZeroException();
        if (b.Denominator.IsRational(out var one) && one.IsOne && b.Numerator.IsSingleTerm(out var c, out var m))
        {
            var (factor, power) = m.Power(new BigRational(k));
            return FromPolynomial(Polynomial.Term(c.Pow(k) * factor, power));
        }
        if (BigInteger.Abs(k) > MaxPolynomialPower) throw new MathLimitException("power of a sum too large");
        int n = (int)BigInteger.Abs(k);
        var result = One;
        var square = b;
        while (n > 0)
        {
            if ((n & 1) == 1) result *= square;
            n >>= 1;
            if (n > 0) square *= square;
        }
        return k.Sign > 0 ? result : One / result;
    }

    static ExactForm BuildCall(Call call)
    {
        if (call is { Name: "sum" or "prod", Args: [Sym index, var fromExpr, var toExpr, var body] })
            return BuildSeries(call.Name, index, fromExpr, toExpr, body);
        var args = call.Args.Select(Build).ToArray();
        var x = args[0];
        bool rational = x.IsRational(out var v);
        switch (call.Name)
        {
            case "abs":
                if (rational) return Constant(v.Abs());
                if (RealSign(call.Args[0]) is int sign) return sign > 0 ? x : -x;
                break;
            case "floor" when rational: return Constant(new BigRational(v.Floor()));
            case "ceil" when rational: return Constant(new BigRational(-(-v).Floor()));
            case "factorial" when rational && v.IsInteger && v.Sign >= 0 && v.Numerator <= MaxFactorial:
            {
                BigInteger f = 1;
                for (int i = 2; i <= (int)v.Numerator; i++) f *= i;
                return Constant(new BigRational(f));
            }
            case "binom" when rational && args[1].IsRational(out var k) && v.IsInteger && k.IsInteger
                               && v.Sign >= 0 && v.Numerator <= 1000:
            {
                if (k.Sign < 0 || k > v) return Zero;
                BigInteger result = 1;
                int n = (int)v.Numerator, kk = (int)BigInteger.Min(k.Numerator, v.Numerator - k.Numerator);
                for (int i = 1; i <= kk; i++) result = result * (n - kk + i) / i;
                return Constant(new BigRational(result));
            }
            case "sin" or "tan" or "sinh" or "tanh" or "arcsin" or "arctan" when x.IsZero: return Zero;
            case "cos" or "cosh" or "exp" or "sec" when x.IsZero: return One;
            case "ln" when rational && v.IsOne: return Zero;
        }
        return Opaque(call.Name, args);
    }

    // \sum_{k=a}^{b}: expanded when the bounds are small integers, otherwise an atom keyed by the whole series.
    static ExactForm BuildSeries(string name, Sym index, MathExpr fromExpr, MathExpr toExpr, MathExpr body)
    {
        var from = Build(fromExpr);
        var to = Build(toExpr);
        if (from.IsRational(out var a) && to.IsRational(out var b) && a.IsInteger && b.IsInteger && b - a < MaxExpandedSum)
        {
            var result = name == "sum" ? Zero : One;
            for (var k = a.Numerator; k <= b.Numerator; k++)
            {
                var term = Build(ExprRewriter.Substitute(body, new Dictionary<string, MathExpr> { [index.Name] = new Num(new BigRational(k)) }));
                result = name == "sum" ? result + term : result * term;
            }
            return result;
        }
        return Opaque(name, OfAtom(Atom.Variable(index.Name)), from, to, Build(body));
    }

    // The sign of a constant real expression, when numeric evaluation makes it certain.
    static int? RealSign(MathExpr e)
    {
        if (ExprRewriter.FreeSymbols(e).Count > 0) return null;
        var value = NumericEvaluator.Evaluate(e, NumericEvaluator.NoVariables);
        if (!NumericEvaluator.IsFinite(value) || System.Math.Abs(value.Imaginary) > 1e-12 * (1 + System.Math.Abs(value.Real))) return null;
        if (System.Math.Abs(value.Real) < 1e-9) return null;
        return System.Math.Sign(value.Real);
    }
}
