namespace Grpo.Rewards.Math;

/// <summary>
/// Decides whether two parsed answers mean the same thing, by shape: relations go to
/// <see cref="RelationComparer"/>; tuples compare in order, sets and answer lists in any order; intervals by
/// their ends and open/closed sides; matrices cell by cell; text case-insensitively; percentages against the
/// number or its hundredth; everything scalar to <see cref="ScalarComparer"/>.
/// </summary>
internal sealed class AnswerComparer
{
    readonly MathVerifierOptions _options;
    readonly ScalarComparer _scalars;
    readonly RelationComparer _relations;

    public AnswerComparer(MathVerifierOptions options)
    {
        _options = options;
        _scalars = new ScalarComparer(options);
        _relations = new RelationComparer(this);
    }

    /// <summary>The entry point: normalizes both answers, then compares.</summary>
    public bool Equivalent(MathExpr gold, MathExpr pred)
    {
        gold = AnswerNormalizer.Normalize(gold);
        pred = AnswerNormalizer.Normalize(pred);
        if (!_options.StrictVariables) pred = RenameVariables(gold, pred);
        return Compare(gold, pred);
    }

    /// <summary>Compares two normalized answers (also used for their parts).</summary>
    public bool Compare(MathExpr g, MathExpr p)
    {
        MathLimits.Spend(1);
        if (g is Relation || p is Relation) return _relations.Compare(g, p);
        if (IsCollection(g) || IsCollection(p)) return CompareCollections(g, p);
        if (MatrixAlgebra.Involves(g) || MatrixAlgebra.Involves(p)) return CompareMatrices(g, p);
        if (g is Text || p is Text) return CompareText(g, p);
        if (g is Percent || p is Percent) return ComparePercent(g, p);
        if (g is Ratio || p is Ratio) return CompareRatios(g, p);
        return _scalars.Equal(g, p);
    }

    static bool IsCollection(MathExpr e) => e is TupleExpr or SetExpr or ListExpr or Interval or SetOp;

    // ---- collections -----------------------------------------------------------------------------------------

    bool CompareCollections(MathExpr g, MathExpr p)
    {
        if (g is Interval or SetOp || p is Interval or SetOp) return CompareSets(g, p);
        var gi = Items(g);
        var pi = Items(p);
        // A tuple is a point: its order matters, also against a bare list (1, 3 against (3, 1) differs).
        bool ordered = (g is TupleExpr || p is TupleExpr) && g is not SetExpr && p is not SetExpr;
        if (ordered) return gi.Count == pi.Count && gi.Zip(pi).All(pair => Compare(pair.First, pair.Second));
        // Sets and answer lists: a solution listed twice is still one solution.
        if (gi.Count != pi.Count) (gi, pi) = (Distinct(gi), Distinct(pi));
        return gi.Count == pi.Count && Matching(gi, pi);
    }

    List<MathExpr> Distinct(IReadOnlyList<MathExpr> items)
    {
        var kept = new List<MathExpr>();
        foreach (var item in items)
            if (!kept.Any(k => Compare(k, item))) kept.Add(item);
        return kept;
    }

    static IReadOnlyList<MathExpr> Items(MathExpr e) => e switch
    {
        TupleExpr t => t.Items,
        SetExpr s => s.Items,
        ListExpr l => l.Items,
        _ => [e],
    };

    // A perfect matching between two equally long lists under Compare (augmenting paths; lists are small).
    bool Matching(IReadOnlyList<MathExpr> gold, IReadOnlyList<MathExpr> pred)
    {
        int n = gold.Count;
        var cache = new bool?[n, n];
        bool Edge(int i, int j) => cache[i, j] ??= Compare(gold[i], pred[j]);
        var matchOfPred = Enumerable.Repeat(-1, n).ToArray();

        bool Augment(int i, bool[] seen)
        {
            for (int j = 0; j < n; j++)
            {
                if (seen[j] || !Edge(i, j)) continue;
                seen[j] = true;
                if (matchOfPred[j] < 0 || Augment(matchOfPred[j], seen)) { matchOfPred[j] = i; return true; }
            }
            return false;
        }

        for (int i = 0; i < n; i++)
            if (!Augment(i, new bool[n])) return false;
        return true;
    }

    bool CompareSets(MathExpr g, MathExpr p)
    {
        g = AsSet(g);
        p = AsSet(p);
        if (g is Interval gi && p is Interval pi)
            return gi.LowOpen == pi.LowOpen && gi.HighOpen == pi.HighOpen && Compare(gi.Low, pi.Low) && Compare(gi.High, pi.High);
        if (g is SetOp gs && p is SetOp ps && gs.Kind == ps.Kind)
        {
            var gParts = Parts(gs);
            var pParts = Parts(ps);
            if (gParts.Count == pParts.Count && Matching(gParts, pParts)) return true;
        }
        // Different descriptions of the same set of numbers: [1, 2) ∪ [2, 3] against [1, 3].
        return g is Interval or SetOp && p is Interval or SetOp
               && ExprRewriter.FreeSymbols(g).Count == 0 && ExprRewriter.FreeSymbols(p).Count == 0
               && RelationComparer.SameSet(g, p, RelationComparer.Placeholder);
    }

    static MathExpr AsSet(MathExpr e) => e is TupleExpr { Items: [var low, var high] } ? new Interval(low, high, true, true) : e;

    static List<MathExpr> Parts(SetOp op)
    {
        var parts = new List<MathExpr>();
        void Walk(MathExpr e)
        {
            if (e is SetOp s && s.Kind == op.Kind && op.Kind != SetOpKind.Difference) { Walk(s.Left); Walk(s.Right); }
            else parts.Add(AsSet(e));
        }
        if (op.Kind == SetOpKind.Difference) return [AsSet(op.Left), AsSet(op.Right)];
        Walk(op);
        return parts;
    }

    // ---- matrices, text, percentages, ratios -------------------------------------------------------------------

    bool CompareMatrices(MathExpr g, MathExpr p)
    {
        var gm = MatrixAlgebra.TryEvaluate(g);
        var pm = MatrixAlgebra.TryEvaluate(p);
        if (gm is null || pm is null || gm.Rows.Count != pm.Rows.Count || gm.Rows[0].Count != pm.Rows[0].Count) return false;
        for (int i = 0; i < gm.Rows.Count; i++)
            for (int j = 0; j < gm.Rows[i].Count; j++)
                if (!Compare(gm.Rows[i][j], pm.Rows[i][j])) return false;
        return true;
    }

    static bool CompareText(MathExpr g, MathExpr p) =>
        TextOf(g) is { } gt && TextOf(p) is { } pt && string.Equals(gt, pt, StringComparison.OrdinalIgnoreCase);

    // The word an answer spells: \text{odd}, or odd parsed as o*d*d, or the letter e parsed as Euler's number.
    static string? TextOf(MathExpr e) => e switch
    {
        Text t => NormalizeText(t.Value),
        Sym s => s.Name,
        Const { Kind: ConstantKind.E } => "e",
        Const { Kind: ConstantKind.I } => "i",
        Mul m when m.Factors.All(f => f is Sym or Const { Kind: ConstantKind.E or ConstantKind.I }) =>
            string.Concat(m.Factors.Select(TextOf)),
        _ => null,
    };

    // "(C)" is the choice C; spacing and a final full stop are not part of a text answer.
    static string NormalizeText(string text)
    {
        var t = string.Join(" ", text.Split((char[]?)null, StringSplitOptions.RemoveEmptyEntries)).TrimEnd('.');
        if (t.Length == 3 && t[0] == '(' && t[2] == ')') t = t[1].ToString();
        return t;
    }

    bool ComparePercent(MathExpr g, MathExpr p)
    {
        if (g is Percent gp && p is Percent pp) return Compare(gp.Operand, pp.Operand);
        var (percent, other) = g is Percent x ? (x, p) : ((Percent)p, g);
        // "28%" answers both "28" (the question asked in percent) and "0.28".
        return Compare(percent.Operand, other) || Compare(new Div(percent.Operand, new Num(new BigRational(100))), other);
    }

    bool CompareRatios(MathExpr g, MathExpr p)
    {
        if (g is Ratio gr && p is Ratio pr)
        {
            if (gr.Parts.Count != pr.Parts.Count) return false;
            if (gr.Parts.Zip(pr.Parts).All(pair => Compare(pair.First, pair.Second))) return true;
            // 2:4 is 1:2, when no part is zero (12:00 is not 1:00).
            if (gr.Parts.Count != 2 || gr.Parts.Concat(pr.Parts).Any(IsZero)) return false;
            return _scalars.Equal(new Mul([gr.Parts[0], pr.Parts[1]]), new Mul([gr.Parts[1], pr.Parts[0]]));
        }
        var (ratio, other) = g is Ratio a ? (a, p) : ((Ratio)p, g);
        return ratio.Parts.Count == 2 && Compare(new Div(ratio.Parts[0], ratio.Parts[1]), other);
    }

    static bool IsZero(MathExpr e) => ExactForm.TryFrom(e) is { IsZero: true };

    // Non-strict mode: f(y) answers f(x). Variables are matched in sorted order when both sides have as many.
    static MathExpr RenameVariables(MathExpr gold, MathExpr pred)
    {
        var gs = ExprRewriter.FreeSymbols(gold).ToList();
        var ps = ExprRewriter.FreeSymbols(pred).ToList();
        if (gs.Count != ps.Count || gs.SequenceEqual(ps)) return pred;
        var map = ps.Zip(gs).ToDictionary(pair => pair.First, pair => (MathExpr)new Sym(pair.Second));
        return ExprRewriter.Substitute(pred, map);
    }
}
