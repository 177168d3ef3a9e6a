namespace Grpo.Rewards.Math;

/// <summary>
/// Hard bounds on the size of everything the verifier builds, and a per-check work budget. They are what makes
/// pathological answers (10^{10^{10}}, (x+1)^{10000}, ten thousand nested brackets) end in milliseconds with a
/// verdict instead of hanging a training step.
/// </summary>
/// <remarks>The budget counts abstract work units (polynomial term products, evaluation steps), not wall time,
/// so that a verdict never depends on how busy the machine is. It is per thread because checks run in parallel.</remarks>
internal static class MathLimits
{
    /// <summary>Largest numerator or denominator kept exactly, in bits (about 1,200 decimal digits).</summary>
    public const int MaxBits = 4096;

    /// <summary>Longest digit string read as one number literal.</summary>
    public const int MaxNumberDigits = 1000;

    /// <summary>Most terms in one expanded polynomial.</summary>
    public const int MaxTerms = 256;

    /// <summary>Longest answer string the parser reads; longer answers are compared as text only.</summary>
    public const int MaxAnswerChars = 2000;

    /// <summary>Deepest nesting of brackets and operators the parser follows.</summary>
    public const int MaxDepth = 64;

    /// <summary>Work units one check may spend: about 20 times what the hardest of Math-Verify's 270 test cases
    /// needs, and tens of milliseconds at most.</summary>
    public const long WorkBudget = 100_000;

    [ThreadStatic] static long _remaining;

    /// <summary>Starts a fresh budget for one check on this thread.</summary>
    public static void Reset() => _remaining = WorkBudget;

    /// <summary>Runs <paramref name="work"/> with at most <paramref name="cap"/> of the remaining budget, so that a
    /// step that gives up (expanding a huge polynomial) leaves budget for the fallback after it.</summary>
    public static T Capped<T>(long cap, Func<T> work, T onLimit)
    {
        long before = _remaining;
        long allowed = System.Math.Min(before, cap);
        _remaining = allowed;
        try { return work(); }
        catch (MathLimitException) { return onLimit; }
        finally { _remaining = before - (allowed - System.Math.Max(_remaining, 0)); }
    }

    /// <summary>Spends work units; throws <see cref="MathLimitException"/> when the check's budget is gone.</summary>
    public static void Spend(long units)
    {
        _remaining -= units;
        if (_remaining < 0) throw new MathLimitException("work budget exhausted");
    }
}

/// <summary>Raised inside the engine when a size or work limit is hit; never escapes the public API.</summary>
internal sealed class MathLimitException(string message) : Exception(message);
