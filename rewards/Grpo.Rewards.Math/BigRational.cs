using System.Numerics;

namespace Grpo.Rewards.Math;

/// <summary>
/// An exact rational number p/q over <see cref="BigInteger"/>, always in lowest terms with q &gt; 0.
/// The verifier's arithmetic is exact wherever the values are rational, so 1/3 + 1/6 is 1/2, not 0.49999.
/// </summary>
/// <remarks>Every result is checked against <see cref="MathLimits.MaxBits"/>: an operation that would build a
/// number too large to compare quickly throws <see cref="MathLimitException"/>, which the verifier turns into
/// "undecided" instead of spending seconds on 10^(10^10).</remarks>
internal readonly struct BigRational : IEquatable<BigRational>, IComparable<BigRational>
{
    public BigInteger Numerator { get; }
    public BigInteger Denominator { get; }

    public static readonly BigRational Zero = new(BigInteger.Zero);
    public static readonly BigRational One = new(BigInteger.One);
    public static readonly BigRational MinusOne = new(BigInteger.MinusOne);

    public BigRational(BigInteger integer)
    {
        Numerator = integer;
        Denominator = BigInteger.One;
    }

    public BigRational(BigInteger numerator, BigInteger denominator)
    {
        if (denominator.IsZero) throw new DivideByZeroException();
        if (denominator.Sign < 0) { numerator = -numerator; denominator = -denominator; }
        var g = BigInteger.GreatestCommonDivisor(numerator, denominator);
        if (!g.IsOne && !g.IsZero) { numerator /= g; denominator /= g; }
        if (numerator.IsZero) denominator = BigInteger.One;
        Check(numerator);
        Check(denominator);
        Numerator = numerator;
        Denominator = denominator;
    }

    static void Check(BigInteger value)
    {
        if (!value.IsZero && value.GetBitLength() > MathLimits.MaxBits)
            throw new MathLimitException("number too large");
    }

    // A default(BigRational) has a zero denominator; treat it as 0 so that default values are harmless.
    BigInteger Den => Denominator.IsZero ? BigInteger.One : Denominator;

    public bool IsZero => Numerator.IsZero;
    public bool IsOne => Numerator.IsOne && Den.IsOne;
    public bool IsInteger => Den.IsOne;
    public int Sign => Numerator.Sign;

    public static implicit operator BigRational(int value) => new(value);
    public static implicit operator BigRational(BigInteger value) => new(value);

    public static BigRational operator +(BigRational a, BigRational b) =>
        a.Den == b.Den ? new(a.Numerator + b.Numerator, a.Den) : new(a.Numerator * b.Den + b.Numerator * a.Den, a.Den * b.Den);
    public static BigRational operator -(BigRational a, BigRational b) => a + (-b);
    public static BigRational operator -(BigRational a) => new(-a.Numerator, a.Den);
    public static BigRational operator *(BigRational a, BigRational b) => new(a.Numerator * b.Numerator, a.Den * b.Den);
    public static BigRational operator /(BigRational a, BigRational b) => new(a.Numerator * b.Den, a.Den * b.Numerator);

    public BigRational Reciprocal() => new(Den, Numerator);
    public BigRational Abs() => Sign < 0 ? -this : this;

    /// <summary>this^exponent for an integer exponent; refuses results past the size limit before computing them.</summary>
    public BigRational Pow(BigInteger exponent)
    {
        if (exponent.IsZero) return One;
        if (IsZero) return exponent.Sign > 0 ? Zero : throw new DivideByZeroException();
        var magnitude = BigInteger.Abs(exponent);
        if (BigInteger.Abs(Numerator).IsOne && Den.IsOne)
            return Numerator.Sign > 0 || exponent.IsEven ? One : MinusOne;
        long bits = System.Math.Max(Numerator.IsZero ? 0 : BigInteger.Abs(Numerator).GetBitLength(), Den.GetBitLength());
        if (magnitude > MathLimits.MaxBits || (bits - 1) * (long)magnitude > MathLimits.MaxBits)
            throw new MathLimitException("power too large");
        int e = (int)magnitude;
        var result = new BigRational(BigInteger.Pow(Numerator, e), BigInteger.Pow(Den, e));
        return exponent.Sign > 0 ? result : result.Reciprocal();
    }

    /// <summary>Floor of the value, as an integer.</summary>
    public BigInteger Floor()
    {
        var q = BigInteger.DivRem(Numerator, Den, out var r);
        return r.Sign < 0 ? q - 1 : q;
    }

    /// <summary>Rounds to <paramref name="places"/> decimal places, halves away from zero (exact, no binary float error).</summary>
    public BigRational RoundToDecimals(int places)
    {
        var scale = BigInteger.Pow(10, places);
        var scaled = this.Abs() * new BigRational(scale);
        var rounded = (scaled + new BigRational(1, 2)).Floor();
        return new BigRational(Sign < 0 ? -rounded : rounded, scale);
    }

    public double ToDouble()
    {
        // Scale big operands down first so that huge-but-equal magnitudes do not turn into inf/inf.
        var n = Numerator; var d = Den;
        long shift = System.Math.Max(BigInteger.Abs(n).GetBitLength(), d.GetBitLength()) - 1000;
        if (shift > 0) { n >>= (int)shift; d >>= (int)shift; if (d.IsZero) return n.Sign * double.PositiveInfinity; }
        return (double)n / (double)d;
    }

    /// <summary>Parses a plain decimal such as "-12.50" (digits, optional point) exactly.</summary>
    public static BigRational ParseDecimal(string integerPart, string fractionPart)
    {
        var digits = integerPart + fractionPart;
        if (digits.Length == 0) digits = "0";
        if (digits.Length > MathLimits.MaxNumberDigits) throw new MathLimitException("number literal too long");
        var value = BigInteger.Parse(digits, System.Globalization.CultureInfo.InvariantCulture);
        return new BigRational(value, BigInteger.Pow(10, fractionPart.Length));
    }

    public bool Equals(BigRational other) => Numerator == other.Numerator && Den == other.Den;
    public override bool Equals(object? obj) => obj is BigRational other && Equals(other);
    public override int GetHashCode() => HashCode.Combine(Numerator, Den);
    public int CompareTo(BigRational other) => (Numerator * other.Den).CompareTo(other.Numerator * Den);
    public static bool operator ==(BigRational a, BigRational b) => a.Equals(b);
    public static bool operator !=(BigRational a, BigRational b) => !a.Equals(b);
    public static bool operator <(BigRational a, BigRational b) => a.CompareTo(b) < 0;
    public static bool operator >(BigRational a, BigRational b) => a.CompareTo(b) > 0;
    public static bool operator <=(BigRational a, BigRational b) => a.CompareTo(b) <= 0;
    public static bool operator >=(BigRational a, BigRational b) => a.CompareTo(b) >= 0;

    public override string ToString() => Den.IsOne ? Numerator.ToString() : $"{Numerator}/{Den}";
}
