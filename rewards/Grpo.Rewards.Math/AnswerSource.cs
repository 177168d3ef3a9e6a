namespace Grpo.Rewards.Math;

/// <summary>Where in a text an answer can be found. <see cref="MathVerifierOptions.ExtractionOrder"/> ranks them.</summary>
public enum AnswerSource
{
    /// <summary>The last \boxed{...} or \fbox{...} (nested braces allowed); boxes joined by "and", "," or
    /// spacing count as one answer list: \boxed{1} and \boxed{2}.</summary>
    Boxed,
    /// <summary>The last &lt;answer&gt;...&lt;/answer&gt; block, itself searched for an answer.</summary>
    AnswerTag,
    /// <summary>GSM8K's final line, "#### 42".</summary>
    Gsm8kMarker,
    /// <summary>"The (final) answer is ...", "Answer: ...": the maths or number right after it.</summary>
    AnswerPhrase,
    /// <summary>The whole text, when it is one maths expression ("$\frac{1}{2}$", "x = 5", "1,000").</summary>
    WholeMath,
    /// <summary>The last $...$, $$...$$, \(...\) or \[...\] (with any joined to it by "and" or ",").</summary>
    LastMath,
    /// <summary>The last number standing on its own in the text.</summary>
    LastNumber,
    /// <summary>The whole (short) text as a text answer, the last resort.</summary>
    WholeText,
}

/// <summary>An answer found in a text.</summary>
/// <param name="Text">The answer itself, ready to parse (numbers in prose already normalized: "1,000.5" is "1000.5").</param>
/// <param name="Source">Which rule found it.</param>
/// <param name="Position">Where it was found in the text; within one rank of sources the latest wins.</param>
/// <param name="IsLatex">True when it is LaTeX; false for plain text, where "1,22" is a decimal.</param>
public sealed record ExtractedAnswer(string Text, AnswerSource Source, int Position, bool IsLatex);
