using System.Numerics;

namespace Grpo.Rewards.Math;

/// <summary>
/// Exact powers of rationals with fractional exponents: c^(p/q) as a rational coefficient times prime roots,
/// so that sqrt(117) = 3 sqrt(13), sqrt(1/2) = sqrt(2)/2 and sqrt(10.5) = sqrt(42)/2 come out identical.
/// </summary>
internal static class Radicals
{
    // Trial division stops here; a cofactor left above it is kept whole (exact for all but products of two large
    // primes). Huge numbers get a smaller bound so that a 4,000-bit radicand still costs microseconds.
    static int TrialDivisionLimit(BigInteger n) => n.GetBitLength() > 64 ? 2_000 : 50_000;

    /// <summary>c^(p/q), or null when the result is not real-or-imaginary in this representation (an even root
    /// above 2 of a negative number). Odd roots of negative numbers are real: (-8)^(1/3) = -2.</summary>
    public static ExactForm? Power(BigRational c, BigRational exponent)
    {
        if (c.IsZero) return exponent.Sign > 0 ? ExactForm.Zero : null;
        var coefficient = BigRational.One;
        var monomial = Monomial.One;
        if (c.Sign < 0)
        {
            var q = exponent.Denominator;
            if (!q.IsEven)
            {
                if (!exponent.Numerator.IsEven) coefficient = -coefficient;
            }
            else if (q == 2)
            {
                // sqrt(-a) = i sqrt(a); (-a)^(p/2) = i^p a^(p/2).
                var (f, m) = Monomial.Of(Atom.I, new BigRational(exponent.Numerator));
                coefficient *= f;
                monomial = m;
            }
            else return null;
            c = -c;
        }
        foreach (var (prime, count) in Factor(c.Numerator).Select(f => (f.Prime, (BigRational)f.Count))
                     .Concat(Factor(c.Denominator).Select(f => (f.Prime, -(BigRational)f.Count))))
        {
            var (f, m) = Monomial.Of(Atom.PrimeRoot(prime), count * exponent);
            var (g, product) = Monomial.Multiply(monomial, m);
            coefficient *= f * g;
            monomial = product;
        }
        return ExactForm.FromPolynomial(Polynomial.Term(coefficient, monomial));
    }

    /// <summary>Prime factors with multiplicities, by trial division up to a bound.</summary>
    static List<(BigInteger Prime, int Count)> Factor(BigInteger n)
    {
        var factors = new List<(BigInteger, int)>();
        if (n <= 1) return factors;
        int limit = TrialDivisionLimit(n);
        for (int p = 2; p <= limit && (BigInteger)p * p <= n; p += p == 2 ? 1 : 2)
        {
            MathLimits.Spend(1);
            int count = 0;
            while ((n % p).IsZero) { n /= p; count++; }
            if (count > 0) factors.Add((p, count));
        }
        if (n > 1) factors.Add((n, 1));
        return factors;
    }
}
