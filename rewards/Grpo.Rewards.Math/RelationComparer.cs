namespace Grpo.Rewards.Math;

/// <summary>
/// Compares answers where at least one side is a relation: labelled values (x = 5 against 5), equations
/// (2x + 4y - 3 = 0 against y = -x/2 + 3/4: same solutions when one side is a non-zero multiple of the other),
/// inequalities (x &lt; 1 against -x &gt; -1) and one-variable conditions against sets (-2 \le x \le 7 against [-2, 7],
/// 1 \le |z| \le 3/2 against [-3/2, -1] ∪ [1, 3/2]).
/// </summary>
internal sealed class RelationComparer(AnswerComparer answers)
{
    /// <summary>A variable name no answer can contain, standing for "the unknown" of a one-variable condition.</summary>
    public const string Placeholder = "\u0001v";

    public bool Compare(MathExpr gold, MathExpr pred)
    {
        var g = gold as Relation;
        var p = pred as Relation;
        if (g is not null && p is null)
        {
            if (AnswerNormalizer.TryGetAssignedValue(g, out _, out var value)) return answers.Compare(value, pred);
            return IsSetLike(pred) && SameSetAsRelation(g, pred);
        }
        if (p is not null && g is null)
        {
            // The gold is a value and the prediction derives it: 2 against "1 + 1 = 2".
            if (p.Ops.All(op => op is RelOp.Eq or RelOp.Approx)) return answers.Compare(gold, AnswerNormalizer.FinalValue(p));
            return IsSetLike(gold) && SameSetAsRelation(p, gold);
        }
        if (g is null || p is null) return false;

        if (AnswerNormalizer.TryGetAssignedValue(g, out var gl, out var gv) && AnswerNormalizer.TryGetAssignedValue(p, out var pl, out var pv)
            && answers.Compare(gl, pl))
            return answers.Compare(gv, pv);
        if (g.Ops.All(op => op == RelOp.Eq) && p.Ops.All(op => op == RelOp.Eq))
            return Proportional(Difference(g.Operands[0], g.Operands[^1]), Difference(p.Operands[0], p.Operands[^1])) is { } k && k != 0;
        if (g.Ops.Count == 1 && p.Ops.Count == 1 && Oriented(g) is { } go && Oriented(p) is { } po && go.Kind == po.Kind
            && Proportional(go.Difference, po.Difference) is { } ratio && (go.Kind == RelOp.Ne ? ratio != 0 : ratio > 0))
            return true;
        if (OneVariable(g) is { } gs && OneVariable(p) is { } ps && gs.Variable == ps.Variable)
            return SameSet(gs.Relation, ps.Relation, gs.Variable);
        return g.Ops.SequenceEqual(p.Ops) && g.Operands.Zip(p.Operands).All(pair => answers.Compare(pair.First, pair.Second));
    }

    static MathExpr Difference(MathExpr left, MathExpr right) => new Add([left, new Neg(right)]);

    // An inequality as "difference op 0" with op in {<, <=, !=}: x > 5 is 5 - x < 0.
    static (MathExpr Difference, RelOp Kind)? Oriented(Relation r) => r.Ops[0] switch
    {
        RelOp.Lt => (Difference(r.Operands[0], r.Operands[1]), RelOp.Lt),
        RelOp.Le => (Difference(r.Operands[0], r.Operands[1]), RelOp.Le),
        RelOp.Gt => (Difference(r.Operands[1], r.Operands[0]), RelOp.Lt),
        RelOp.Ge => (Difference(r.Operands[1], r.Operands[0]), RelOp.Le),
        RelOp.Ne => (Difference(r.Operands[0], r.Operands[1]), RelOp.Ne),
        _ => null,
    };

    /// <summary>k with b = k·a (as equations, so only numerators matter), or null when b is not a constant
    /// multiple of a. Exact on canonical polynomials, else from the ratio at the seeded points.</summary>
    static double? Proportional(MathExpr a, MathExpr b)
    {
        var ea = ExactForm.TryFrom(a);
        var eb = ExactForm.TryFrom(b);
        if (ea is not null && eb is not null && !ea.Has(AtomKind.Opaque) && !eb.Has(AtomKind.Opaque))
        {
            var na = ea.Numerator;
            var nb = eb.Numerator;
            if (na.IsZero || nb.IsZero) return na.IsZero && nb.IsZero ? 1 : null;
            var (monomial, ca) = na.Terms.First();
            var cb = nb.Terms.FirstOrDefault(t => t.Monomial.Key == monomial.Key).Coefficient;
            if (cb.IsZero) return null;
            var k = cb / ca;
            return (nb - na.Scale(k)).IsZero ? k.ToDouble() : null;
        }
        var variables = ExprRewriter.FreeSymbols(a);
        variables.UnionWith(ExprRewriter.FreeSymbols(b));
        double? ratio = null;
        int agreed = 0;
        foreach (var point in ScalarComparer.SamplePoints(variables))
        {
            var va = NumericEvaluator.Evaluate(a, point);
            var vb = NumericEvaluator.Evaluate(b, point);
            if (!NumericEvaluator.IsFinite(va) || !NumericEvaluator.IsFinite(vb) || System.Numerics.Complex.Abs(va) < 1e-12) continue;
            var r = vb / va;
            if (System.Math.Abs(r.Imaginary) > 1e-9 * System.Numerics.Complex.Abs(r)) return null;
            if (ratio is { } seen && !ScalarComparer.Close(seen, r.Real)) return null;
            ratio = r.Real;
            agreed++;
        }
        return agreed >= (variables.Count == 0 ? 1 : 3) ? ratio : null;
    }

    static bool IsSetLike(MathExpr e) => e is Interval or SetOp or SetExpr or TupleExpr { Items.Count: 2 };

    bool SameSetAsRelation(Relation r, MathExpr set) =>
        OneVariable(r) is { } one && SameSet(one.Relation, set, one.Variable);

    // The relation's single unknown: its one variable, or its one non-constant operand when that is a label
    // (0 < f(x) < 1 is a condition on f(x)).
    static (Relation Relation, string Variable)? OneVariable(Relation r)
    {
        if (r.Ops.Any(op => op is RelOp.In or RelOp.Approx)) return null;
        var symbols = ExprRewriter.FreeSymbols(r);
        if (symbols.Count == 1) return (r, symbols.Min!);
        var varying = r.Operands.Where(o => ExprRewriter.FreeSymbols(o).Count > 0).ToList();
        if (varying.Count != 1 || !AnswerNormalizer.IsLabel(varying[0])) return null;
        var operands = r.Operands.Select(o => ReferenceEquals(o, varying[0]) ? new Sym(Placeholder) : o).ToList();
        return (new Relation(operands, r.Ops), Placeholder);
    }

    /// <summary>Compares two descriptions of a set of reals (relations in one variable, intervals, unions, finite
    /// sets) by membership at every boundary they mention, just inside and outside each, and seeded points between.</summary>
    internal static bool SameSet(MathExpr a, MathExpr b, string variable)
    {
        var constants = new SortedSet<BigRational>();
        Boundaries(a, constants);
        Boundaries(b, constants);
        var points = new SortedSet<BigRational>(constants);
        var epsilon = new BigRational(1, 1_000_000);
        foreach (var c in constants) { points.Add(c - epsilon); points.Add(c + epsilon); }
        var sorted = constants.ToList();
        for (int k = 0; k + 1 < sorted.Count; k++) points.Add((sorted[k] + sorted[k + 1]) / 2);
        BigRational low = sorted.Count > 0 ? sorted[0] - 3 : -10, high = sorted.Count > 0 ? sorted[^1] + 3 : 10;
        points.Add(low);
        points.Add(high);
        var span = high - low;
        foreach (var point in ScalarComparer.SamplePoints([variable]).Take(5))
            points.Add(low + span * Rational(point[variable].Real - 0.5, 2));
        int decided = 0;
        foreach (var t in points)
        {
            var inA = Member(a, variable, t);
            var inB = Member(b, variable, t);
            if (inA is null || inB is null) continue;
            if (inA != inB) return false;
            decided++;
        }
        return decided > 0;
    }

    static BigRational Rational(double x, double scale) => new(new System.Numerics.BigInteger(System.Math.Round(x / scale * 1e6)), 1_000_000);

    // Every constant a set description mentions: interval ends, finite elements, constant sides of relations.
    static void Boundaries(MathExpr e, SortedSet<BigRational> into)
    {
        IEnumerable<MathExpr> candidates = e switch
        {
            Interval iv => [iv.Low, iv.High],
            TupleExpr t => t.Items,
            SetExpr s => s.Items,
            ListExpr l => l.Items,
            Relation r => r.Operands,
            SetOp so => [so.Left, so.Right],
            _ => [],
        };
        foreach (var c in candidates)
        {
            if (c is SetOp or Interval or SetExpr or TupleExpr or ListExpr) { Boundaries(c, into); continue; }
            if (ExprRewriter.FreeSymbols(c).Count > 0) continue;
            if (ExactForm.TryFrom(c) is { } exact && exact.IsRational(out var v)) into.Add(v);
            else if (NumericEvaluator.Evaluate(c, NumericEvaluator.NoVariables) is var z && NumericEvaluator.IsFinite(z) && z.Imaginary == 0)
                into.Add(Rational(z.Real, 1));
        }
    }

    static bool? Member(MathExpr set, string variable, BigRational t)
    {
        switch (set)
        {
            case Relation r:
            {
                var at = new Dictionary<string, MathExpr> { [variable] = new Num(t) };
                for (int k = 0; k < r.Ops.Count; k++)
                {
                    var sign = Sign(Difference(ExprRewriter.Substitute(r.Operands[k], at), ExprRewriter.Substitute(r.Operands[k + 1], at)));
                    if (sign is null) return null;
                    bool holds = r.Ops[k] switch
                    {
                        RelOp.Lt => sign < 0, RelOp.Le => sign <= 0, RelOp.Gt => sign > 0, RelOp.Ge => sign >= 0,
                        RelOp.Eq => sign == 0, RelOp.Ne => sign != 0, _ => false,
                    };
                    if (!holds) return false;
                }
                return true;
            }
            case Interval iv:
            {
                var above = CompareTo(t, iv.Low);
                var below = CompareTo(t, iv.High);
                if (above is null || below is null) return null;
                return (iv.LowOpen ? above > 0 : above >= 0) && (iv.HighOpen ? below < 0 : below <= 0);
            }
            case TupleExpr { Items: [var low, var high] }: return Member(new Interval(low, high, true, true), variable, t);
            case SetExpr or ListExpr:
            {
                foreach (var item in ExprRewriter.Children(set))
                {
                    var c = CompareTo(t, item);
                    if (c is null) return null;
                    if (c == 0) return true;
                }
                return false;
            }
            case SetOp so:
            {
                var l = Member(so.Left, variable, t);
                var r = Member(so.Right, variable, t);
                if (l is null || r is null) return null;
                return so.Kind switch { SetOpKind.Union => l.Value || r.Value, SetOpKind.Intersection => l.Value && r.Value, _ => l.Value && !r.Value };
            }
            default: return null;
        }
    }

    // Sign of t - bound, with infinite bounds understood.
    static int? CompareTo(BigRational t, MathExpr bound)
    {
        switch (bound)
        {
            case Const { Kind: ConstantKind.Infinity }: return -1;
            case Neg { Operand: Const { Kind: ConstantKind.Infinity } }: return 1;
        }
        return Sign(Difference(new Num(t), bound));
    }

    static int? Sign(MathExpr e)
    {
        if (ExactForm.TryFrom(e) is { } exact && exact.IsRational(out var v)) return v.Sign;
        var z = NumericEvaluator.Evaluate(e, NumericEvaluator.NoVariables);
        if (!NumericEvaluator.IsFinite(z) || System.Math.Abs(z.Imaginary) > 1e-12) return null;
        return System.Math.Abs(z.Real) < 1e-12 ? 0 : System.Math.Sign(z.Real);
    }
}
