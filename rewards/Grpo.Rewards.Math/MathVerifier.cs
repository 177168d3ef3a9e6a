namespace Grpo.Rewards.Math;

/// <summary>
/// The plain API: reads the final answer from a gold text and from a prediction and decides whether they are
/// mathematically the same. The reward (<see cref="MathAnswerReward"/>) and the <c>grpo verify-math</c> command
/// are thin wrappers over it, so training and offline scoring agree exactly.
/// </summary>
/// <remarks>Never throws and never hangs: every check runs under a work budget and size limits, and anything
/// unexpected is a "not equivalent" verdict. Thread-safe.</remarks>
/// <example><code>
/// MathVerifier.AreEquivalent("#### 72", "... so she has \\boxed{72} apples");     // true
/// MathVerifier.AreEquivalent("$\\frac{1}{3}$", "0.3333333");                     // true (6 decimal places)
/// MathVerifier.AreEquivalent("$(x+1)^2$", "x^2 + 2x + 1");                       // true
/// </code></example>
public static class MathVerifier
{
    const int MaxCandidatesTried = 8;

    /// <summary>True when the prediction's final answer equals the gold answer.</summary>
    /// <param name="gold">The gold answer: a bare answer, a GSM8K "... #### 72" solution or a MATH solution with \boxed.</param>
    /// <param name="prediction">The model's completion, or a bare answer.</param>
    /// <param name="options">Settings; <see cref="MathVerifierOptions.Default"/> when null.</param>
    public static bool AreEquivalent(string? gold, string? prediction, MathVerifierOptions? options = null) =>
        Verify(gold, prediction, options).Equivalent;

    /// <summary>Checks a prediction against a gold answer and reports what was read from each.</summary>
    public static MathVerdict Verify(string? gold, string? prediction, MathVerifierOptions? options = null)
    {
        options ??= MathVerifierOptions.Default;
        try
        {
            MathLimits.Reset();
            var (goldAnswer, goldExpr) = Read(gold ?? "", options);
            var (predAnswer, predExpr) = Read(prediction ?? "", options);
            if (goldAnswer is null) return new MathVerdict(false, false, null, predAnswer?.Text);
            bool equivalent = predAnswer is not null
                && (Compact(goldAnswer.Text) == Compact(predAnswer.Text)
                    || (goldExpr is not null && predExpr is not null && Compare(goldExpr, predExpr, options)));
            return new MathVerdict(equivalent, goldExpr is not null, goldAnswer.Text, predAnswer?.Text);
        }
        catch (Exception e) when (e is not OutOfMemoryException)
        {
            // A verifier bug must cost one sample its reward, never a training run.
            return new MathVerdict(false, false, null, null);
        }
    }

    /// <summary>The final answer the verifier reads from a text, or null when there is none.</summary>
    public static string? ExtractAnswer(string? text, MathVerifierOptions? options = null)
    {
        try
        {
            MathLimits.Reset();
            return Read(text ?? "", options ?? MathVerifierOptions.Default).Answer?.Text;
        }
        catch (Exception e) when (e is not OutOfMemoryException)
        {
            return null;
        }
    }

    // A comparison that runs out of budget has not shown equality: not equivalent (the gold was still read).
    static bool Compare(MathExpr gold, MathExpr pred, MathVerifierOptions options)
    {
        try { return new AnswerComparer(options).Equivalent(gold, pred); }
        catch (MathLimitException) { return false; }
    }

    // The first candidate answer that parses; when none does, the first candidate with no expression.
    static (ExtractedAnswer? Answer, MathExpr? Expr) Read(string text, MathVerifierOptions options)
    {
        ExtractedAnswer? first = null;
        foreach (var candidate in AnswerExtractor.Candidates(text, options).Take(MaxCandidatesTried))
        {
            first ??= candidate;
            if (Parse(candidate) is { } expr) return (candidate, expr);
            // The whole text is one expression we cannot read: a number inside it is not its answer.
            if (candidate.Source == AnswerSource.WholeMath) break;
        }
        return (first, null);
    }

    static MathExpr? Parse(ExtractedAnswer answer)
    {
        var expr = LatexParser.TryParse(answer.Text, answer.IsLatex);
        if (expr is null)
        {
            // "1 = \zzz = x = 0": when a chain does not parse, its final value may.
            int eq = answer.Text.LastIndexOf('=');
            if (eq > 0 && eq + 1 < answer.Text.Length) expr = LatexParser.TryParse(answer.Text[(eq + 1)..], answer.IsLatex);
        }
        if (expr is null && answer.Source == AnswerSource.WholeText) expr = new Text(answer.Text);
        return expr;
    }

    static string Compact(string s) => string.Concat(s.Where(c => !char.IsWhiteSpace(c)));
}
