namespace Grpo.Rewards.Math;

/// <summary>
/// Reduces a matrix expression (sums, scalar multiples and products of matrices) to one matrix of scalar
/// expressions, so that "A + B" written out in pmatrix form compares against the gold sum cell by cell.
/// </summary>
internal static class MatrixAlgebra
{
    /// <summary>True when the expression involves a matrix literal anywhere at its top levels.</summary>
    public static bool Involves(MathExpr e) => e switch
    {
        Matrix => true,
        Add a => a.Terms.Any(Involves),
        Mul m => m.Factors.Any(Involves),
        Neg n => Involves(n.Operand),
        Div d => Involves(d.Numerator),
        _ => false,
    };

    /// <summary>The matrix the expression evaluates to, or null when it is not a well-formed matrix expression.</summary>
    public static Matrix? TryEvaluate(MathExpr e)
    {
        switch (e)
        {
            case Matrix m: return m;
            case Neg n: return TryEvaluate(n.Operand) is { } inner ? Map(inner, x => new Neg(x)) : null;
            case Div d when !Involves(d.Denominator):
                return TryEvaluate(d.Numerator) is { } num ? Map(num, x => new Div(x, d.Denominator)) : null;
            case Add a:
            {
                Matrix? sum = null;
                foreach (var term in a.Terms)
                {
                    var m = TryEvaluate(term);
                    if (m is null) return null;
                    if (sum is null) { sum = m; continue; }
                    if (!SameShape(sum, m)) return null;
                    var left = sum;
                    sum = new Matrix(left.Rows.Select((row, i) => (IReadOnlyList<MathExpr>)row.Select((x, j) => (MathExpr)new Add([x, m.Rows[i][j]])).ToList()).ToList());
                }
                return sum;
            }
            case Mul product:
            {
                MathExpr scalar = new Num(BigRational.One);
                Matrix? result = null;
                foreach (var factor in product.Factors)
                {
                    if (!Involves(factor)) { scalar = new Mul([scalar, factor]); continue; }
                    var m = TryEvaluate(factor);
                    if (m is null) return null;
                    result = result is null ? m : Multiply(result, m);
                    if (result is null) return null;
                }
                return result is null ? null : Map(result, x => new Mul([scalar, x]));
            }
            default: return null;
        }
    }

    static bool SameShape(Matrix a, Matrix b) => a.Rows.Count == b.Rows.Count && a.Rows[0].Count == b.Rows[0].Count;

    static Matrix Map(Matrix m, Func<MathExpr, MathExpr> f) =>
        new(m.Rows.Select(r => (IReadOnlyList<MathExpr>)r.Select(f).ToList()).ToList());

    static Matrix? Multiply(Matrix a, Matrix b)
    {
        int n = a.Rows.Count, k = a.Rows[0].Count, m = b.Rows[0].Count;
        if (b.Rows.Count != k) return null;
        MathLimits.Spend((long)n * k * m);
        var rows = new List<IReadOnlyList<MathExpr>>(n);
        for (int i = 0; i < n; i++)
        {
            var row = new List<MathExpr>(m);
            for (int j = 0; j < m; j++)
                row.Add(new Add(Enumerable.Range(0, k).Select(t => (MathExpr)new Mul([a.Rows[i][t], b.Rows[t][j]])).ToList()));
            rows.Add(row);
        }
        return new Matrix(rows);
    }
}
