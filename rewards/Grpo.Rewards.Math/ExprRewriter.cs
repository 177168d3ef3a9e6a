namespace Grpo.Rewards.Math;

/// <summary>Rebuilds expression trees: the one place that knows every node's children.</summary>
internal static class ExprRewriter
{
    /// <summary>Applies <paramref name="rewrite"/> bottom-up: children first, then the rebuilt node.</summary>
    public static MathExpr Map(MathExpr e, Func<MathExpr, MathExpr> rewrite)
    {
        MathExpr M(MathExpr x) => Map(x, rewrite);
        IReadOnlyList<MathExpr> L(IReadOnlyList<MathExpr> xs) => xs.Select(M).ToList();
        MathLimits.Spend(1);
        MathExpr rebuilt = e switch
        {
            Neg n => new Neg(M(n.Operand)),
            Add a => new Add(L(a.Terms)),
            Mul m => new Mul(L(m.Factors)),
            Div d => new Div(M(d.Numerator), M(d.Denominator)),
            Pow p => new Pow(M(p.Base), M(p.Exponent)),
            Root r => new Root(M(r.Radicand), r.Index),
            Call c => new Call(c.Name, L(c.Args)),
            PlusMinus pm => new PlusMinus(pm.Left is null ? null : M(pm.Left), M(pm.Right)),
            Percent pc => new Percent(M(pc.Operand)),
            Relation r => new Relation(L(r.Operands), r.Ops),
            TupleExpr t => new TupleExpr(L(t.Items)),
            Interval iv => new Interval(M(iv.Low), M(iv.High), iv.LowOpen, iv.HighOpen),
            SetExpr s => new SetExpr(L(s.Items)),
            ListExpr l => new ListExpr(L(l.Items)),
            SetOp so => new SetOp(so.Kind, M(so.Left), M(so.Right)),
            Matrix mx => new Matrix(mx.Rows.Select(L).ToList()),
            Ratio ra => new Ratio(L(ra.Parts)),
            _ => e,
        };
        return rewrite(rebuilt);
    }

    /// <summary>The direct children of a node, in order.</summary>
    public static IEnumerable<MathExpr> Children(MathExpr e) => e switch
    {
        Neg n => [n.Operand],
        Add a => a.Terms,
        Mul m => m.Factors,
        Div d => [d.Numerator, d.Denominator],
        Pow p => [p.Base, p.Exponent],
        Root r => [r.Radicand],
        Call c => c.Args,
        PlusMinus pm => pm.Left is null ? [pm.Right] : [pm.Left, pm.Right],
        Percent pc => [pc.Operand],
        Relation r => r.Operands,
        TupleExpr t => t.Items,
        Interval iv => [iv.Low, iv.High],
        SetExpr s => s.Items,
        ListExpr l => l.Items,
        SetOp so => [so.Left, so.Right],
        Matrix mx => mx.Rows.SelectMany(r => r),
        Ratio ra => ra.Parts,
        _ => [],
    };

    /// <summary>Replaces every occurrence of a constant (the i in \sum_{i=1}^n i is an index, not sqrt(-1)).</summary>
    public static MathExpr ReplaceConstant(MathExpr e, ConstantKind kind, MathExpr replacement) =>
        Map(e, x => x is Const c && c.Kind == kind ? replacement : x);

    /// <summary>Replaces variables by name.</summary>
    public static MathExpr Substitute(MathExpr e, IReadOnlyDictionary<string, MathExpr> values) =>
        Map(e, x => x is Sym s && values.TryGetValue(s.Name, out var v) ? v : x);

    /// <summary>The names of the variables in an expression (sum indices excluded).</summary>
    public static SortedSet<string> FreeSymbols(MathExpr e)
    {
        var names = new SortedSet<string>(StringComparer.Ordinal);
        Collect(e, names);
        return names;

        static void Collect(MathExpr x, SortedSet<string> names)
        {
            MathLimits.Spend(1);
            if (x is Sym s) { names.Add(s.Name); return; }
            if (x is Call { Name: "sum" or "prod", Args: [Sym index, var from, var to, var body] })
            {
                Collect(from, names);
                Collect(to, names);
                var inner = new SortedSet<string>(StringComparer.Ordinal);
                Collect(body, inner);
                inner.Remove(index.Name);
                names.UnionWith(inner);
                return;
            }
            foreach (var child in Children(x)) Collect(child, names);
        }
    }

    /// <summary>True when any number in the expression was written with a decimal point.</summary>
    public static bool ContainsDecimal(MathExpr e) => e is Num { IsDecimal: true } || Children(e).Any(ContainsDecimal);

    /// <summary>How many nodes of the expression satisfy the predicate.</summary>
    public static int Count(MathExpr e, Func<MathExpr, bool> predicate) => (predicate(e) ? 1 : 0) + Children(e).Sum(c => Count(c, predicate));
}
