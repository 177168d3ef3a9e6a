namespace Grpo.Rewards.Math;

/// <summary>Settings of the maths verifier. The defaults are the ones training uses; each says where it comes from.</summary>
public sealed record MathVerifierOptions
{
    /// <summary>
    /// Default extraction ranks: explicit final-answer markers first (whichever comes last in the text wins),
    /// then the whole text when it is a single maths expression, then the last maths or number in the text,
    /// then the whole text as a text answer.
    /// </summary>
    public static IReadOnlyList<AnswerSource[]> DefaultExtractionOrder { get; } =
    [
        [AnswerSource.Boxed, AnswerSource.AnswerTag, AnswerSource.Gsm8kMarker, AnswerSource.AnswerPhrase],
        [AnswerSource.WholeMath],
        [AnswerSource.LastMath, AnswerSource.LastNumber],
        [AnswerSource.WholeText],
    ];

    /// <summary>The defaults (declared after <see cref="DefaultExtractionOrder"/>, which it uses).</summary>
    public static MathVerifierOptions Default { get; } = new();

    readonly int _floatRounding = 6;

    /// <summary>
    /// Decimal places to which a decimal answer and an exact value are rounded before comparing them (0.3333333
    /// equals 1/3, 0.333 does not). Default 6, Math-Verify's <c>float_rounding</c>. Range 0 to 15.
    /// </summary>
    /// <exception cref="ArgumentOutOfRangeException">Outside 0..15 (doubles carry about 15 significant digits).</exception>
    public int FloatRounding
    {
        get => _floatRounding;
        init => _floatRounding = value is >= 0 and <= 15 ? value
            : throw new ArgumentOutOfRangeException(nameof(FloatRounding), value, "FloatRounding is a number of decimal places from 0 to 15; the default is 6.");
    }

    /// <summary>
    /// When true (the default, as Math-Verify's <c>strict</c>), variable names matter: f(x) differs from f(y).
    /// When false, the prediction's variables are renamed to the gold's (in sorted order) when both have as many.
    /// </summary>
    public bool StrictVariables { get; init; } = true;

    readonly IReadOnlyList<AnswerSource[]> _extractionOrder = DefaultExtractionOrder;

    /// <summary>
    /// Where to look for the answer, as ranks of <see cref="AnswerSource"/>s: earlier ranks win; within a rank the
    /// answer found latest in the text wins. Default <see cref="DefaultExtractionOrder"/>. To accept only boxed
    /// answers, use <c>[[AnswerSource.Boxed]]</c>.
    /// </summary>
    /// <exception cref="ArgumentException">Empty, or a rank with no source.</exception>
    public IReadOnlyList<AnswerSource[]> ExtractionOrder
    {
        get => _extractionOrder;
        init => _extractionOrder = value is { Count: > 0 } && value.All(rank => rank is { Length: > 0 }) ? value
            : throw new ArgumentException("ExtractionOrder needs at least one rank, each with at least one AnswerSource, e.g. [[AnswerSource.Boxed]].", nameof(ExtractionOrder));
    }
}
