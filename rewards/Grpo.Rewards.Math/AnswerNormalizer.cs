namespace Grpo.Rewards.Math;

/// <summary>
/// Rewrites a parsed answer into the shape the comparer expects: a ± b becomes the two answers it stands for,
/// "x \in S" becomes S, nested answer lists are flattened, and a list of labelled values (x = 1, y = 2) stays
/// a list whose items the comparer can unwrap. Also knows what a label is.
/// </summary>
internal static class AnswerNormalizer
{
    const int MaxPlusMinusExpansions = 3;

    public static MathExpr Normalize(MathExpr e)
    {
        switch (e)
        {
            case ListExpr l:
            {
                var items = Flatten(l.Items);
                return items.Count == 1 ? items[0] : new ListExpr(items);
            }
            case SetExpr s: return new SetExpr(Flatten(s.Items));
            case Relation { Ops: [RelOp.In], Operands: [var label, var set] } when IsLabel(label): return Normalize(set);
        }
        var variants = ExpandPlusMinus(e);
        return variants.Count == 1 ? variants[0] : new ListExpr(variants);
    }

    static List<MathExpr> Flatten(IReadOnlyList<MathExpr> items)
    {
        var flat = new List<MathExpr>();
        foreach (var item in items)
        {
            var n = Normalize(item);
            if (n is ListExpr inner) flat.AddRange(inner.Items);
            else flat.Add(n);
        }
        return flat;
    }

    // 1 ± sqrt 5 -> [1 + sqrt 5, 1 - sqrt 5]; ±2 -> [2, -2]. Each ± doubles the variants, so only a few are expanded.
    static List<MathExpr> ExpandPlusMinus(MathExpr e)
    {
        int count = ExprRewriter.Count(e, x => x is PlusMinus);
        if (count == 0 || count > MaxPlusMinusExpansions) return [e];
        var variants = new List<MathExpr> { e };
        for (int k = 0; k < count; k++)
        {
            var next = new List<MathExpr>();
            foreach (var v in variants)
            {
                next.Add(ReplaceFirstPlusMinus(v, plus: true));
                next.Add(ReplaceFirstPlusMinus(v, plus: false));
            }
            variants = next;
        }
        return variants;
    }

    static MathExpr ReplaceFirstPlusMinus(MathExpr e, bool plus)
    {
        bool done = false;
        return ExprRewriter.Map(e, x =>
        {
            if (done || x is not PlusMinus pm) return x;
            done = true;
            var right = plus ? pm.Right : new Neg(pm.Right);
            return pm.Left is null ? right : new Add([pm.Left, right]);
        });
    }

    /// <summary>
    /// A label names an answer rather than computing it: x, f(x), |AB|, A:B, \frac{NO}{BO}, (p, q). It contains no
    /// number outside its names, so "x = 5" is the answer 5, while "2x + z = 1" is an equation.
    /// </summary>
    public static bool IsLabel(MathExpr e) => e switch
    {
        Sym => true,
        Const { Kind: ConstantKind.E or ConstantKind.I } => true,
        Mul m => m.Factors.All(IsLabel),
        Div d => IsLabel(d.Numerator) && IsLabel(d.Denominator),
        Ratio r => r.Parts.All(IsLabel),
        TupleExpr t => t.Items.All(IsLabel),
        Call { Name: "abs", Args: [var x] } => IsLabel(x),
        _ => false,
    };

    /// <summary>For "label = value (= value ...)", the value: the last part after an =, or after ≈ when
    /// there is no exact one (x = 1/3 ≈ 0.33 is 1/3).</summary>
    public static bool TryGetAssignedValue(Relation r, out MathExpr label, out MathExpr value)
    {
        label = r.Operands[0];
        value = label;
        if (!IsLabel(label) || r.Ops.Any(op => op is not (RelOp.Eq or RelOp.Approx))) return false;
        value = FinalValue(r);
        return true;
    }

    /// <summary>The final value of an equation chain: 1 + 1 = 2 gives 2; y = 3 + 3 = 6 ≈ 6.0 gives 6.</summary>
    public static MathExpr FinalValue(Relation r)
    {
        for (int k = r.Ops.Count - 1; k >= 0; k--)
            if (r.Ops[k] == RelOp.Eq) return r.Operands[k + 1];
        return r.Operands[^1];
    }
}
