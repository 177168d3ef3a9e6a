namespace Grpo.Rewards.Code;

/// <summary>How the program is taken out of a completion.</summary>
public enum CodeExtraction
{
    /// <summary>
    /// The last fenced block tagged <c>csharp</c>, <c>cs</c> or <c>c#</c>; else the last fenced block of any kind;
    /// else the whole completion. Suits both chat answers and raw continuations.
    /// </summary>
    PreferFenced,

    /// <summary>As <see cref="PreferFenced"/>, but a completion with no fenced block scores 0 ("no code block").</summary>
    RequireFenced,

    /// <summary>The whole completion, as is (continuation models, MBXP's published completions).</summary>
    Raw,
}
