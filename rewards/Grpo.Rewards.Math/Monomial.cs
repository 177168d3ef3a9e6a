using System.Numerics;

namespace Grpo.Rewards.Math;

/// <summary>What a polynomial's indeterminates can be.</summary>
internal enum AtomKind
{
    /// <summary>A variable, x.</summary>
    Variable,
    /// <summary>pi.</summary>
    Pi,
    /// <summary>Euler's number e.</summary>
    E,
    /// <summary>The imaginary unit; i^2 reduces to -1.</summary>
    I,
    /// <summary>Infinity, so that interval ends compare.</summary>
    Infinity,
    /// <summary>A prime p under a fractional power: sqrt(12) is 2 * 3^(1/2); the power stays in [0, 1).</summary>
    PrimeRoot,
    /// <summary>Anything the engine keeps unevaluated (sin x, 2^x, sqrt(1 + sqrt 2)), named by a canonical key.</summary>
    Opaque,
}

/// <summary>
/// An indeterminate of the exact engine's polynomials. Two atoms are the same exactly when their
/// <see cref="Key"/>s are equal; keys also give the canonical order of atoms inside a monomial.
/// </summary>
internal sealed class Atom
{
    public AtomKind Kind { get; }
    public string Key { get; }
    public BigInteger Prime { get; }

    Atom(AtomKind kind, string key, BigInteger prime = default)
    {
        Kind = kind;
        Key = key;
        Prime = prime;
    }

    public static readonly Atom Pi = new(AtomKind.Pi, "c:pi");
    public static readonly Atom E = new(AtomKind.E, "c:e");
    public static readonly Atom I = new(AtomKind.I, "c:i");
    public static readonly Atom Infinity = new(AtomKind.Infinity, "c:inf");
    public static Atom Variable(string name) => new(AtomKind.Variable, "v:" + name);
    public static Atom PrimeRoot(BigInteger prime) => new(AtomKind.PrimeRoot, "r:" + prime, prime);
    public static Atom Opaque(string key) => new(AtomKind.Opaque, "f:" + key);
}

/// <summary>
/// A product of atoms with exponents, in canonical order. Variables, pi, e and opaque atoms take integer
/// exponents (negative allowed: x/x cancels); prime roots take exponents in (0, 1); i takes exponent 1.
/// Multiplying two monomials may push a factor into the coefficient (sqrt2 * sqrt2 = 2, i * i = -1).
/// </summary>
internal sealed class Monomial
{
    public static readonly Monomial One = new([], []);

    readonly Atom[] _atoms;
    readonly BigRational[] _exponents;
    string? _key;

    Monomial(Atom[] atoms, BigRational[] exponents)
    {
        _atoms = atoms;
        _exponents = exponents;
    }

    public int Count => _atoms.Length;
    public Atom AtomAt(int k) => _atoms[k];
    public BigRational ExponentAt(int k) => _exponents[k];
    public bool IsOne => _atoms.Length == 0;

    /// <summary>Canonical text: equal keys, equal monomials.</summary>
    public string Key => _key ??= string.Join("*", _atoms.Select((a, k) => _exponents[k].IsOne ? a.Key : $"{a.Key}^{_exponents[k]}"));

    public bool Any(Func<Atom, bool> predicate) => _atoms.Any(predicate);

    /// <summary>A single atom to the first power.</summary>
    public static (BigRational Coefficient, Monomial Monomial) Of(Atom atom, BigRational exponent) =>
        Normalize([(atom, exponent)]);

    /// <summary>The product of two monomials: a coefficient pulled out by the reduction rules, and the rest.</summary>
    public static (BigRational Coefficient, Monomial Monomial) Multiply(Monomial a, Monomial b)
    {
        if (a.IsOne) return (BigRational.One, b);
        if (b.IsOne) return (BigRational.One, a);
        var merged = new List<(Atom, BigRational)>(a.Count + b.Count);
        int i = 0, j = 0;
        while (i < a.Count || j < b.Count)
        {
            int cmp = i == a.Count ? 1 : j == b.Count ? -1 : string.CompareOrdinal(a._atoms[i].Key, b._atoms[j].Key);
            if (cmp < 0) { merged.Add((a._atoms[i], a._exponents[i])); i++; }
            else if (cmp > 0) { merged.Add((b._atoms[j], b._exponents[j])); j++; }
            else { merged.Add((a._atoms[i], a._exponents[i] + b._exponents[j])); i++; j++; }
        }
        return Normalize(merged);
    }

    /// <summary>This monomial to an integer or rational power, when the result is still a monomial.</summary>
    public (BigRational Coefficient, Monomial Monomial) Power(BigRational exponent)
    {
        var scaled = new List<(Atom, BigRational)>(Count);
        for (int k = 0; k < Count; k++)
        {
            // i^k with fractional k, or a variable to a fractional power, leaves the polynomial world.
            if (!exponent.IsInteger && _atoms[k].Kind != AtomKind.PrimeRoot) throw new NotExactException();
            scaled.Add((_atoms[k], _exponents[k] * exponent));
        }
        return Normalize(scaled);
    }

    // Applies the reduction rules to atoms given in canonical order.
    static (BigRational, Monomial) Normalize(List<(Atom Atom, BigRational Exponent)> items)
    {
        var coefficient = BigRational.One;
        var atoms = new List<Atom>(items.Count);
        var exponents = new List<BigRational>(items.Count);
        foreach (var (atom, exponent) in items)
        {
            var e = exponent;
            switch (atom.Kind)
            {
                case AtomKind.PrimeRoot:
                {
                    var whole = e.Floor();
                    if (!whole.IsZero) coefficient *= new BigRational(atom.Prime).Pow(whole);
                    e -= new BigRational(whole);
                    break;
                }
                case AtomKind.I:
                {
                    if (!e.IsInteger) throw new NotExactException();
                    var n = (int)BigInteger.Remainder(BigInteger.Remainder(e.Numerator, 4) + 4, 4);
                    if (n >= 2) coefficient = -coefficient;
                    e = n % 2;
                    break;
                }
                default:
                    if (!e.IsInteger) throw new NotExactException();
                    break;
            }
            if (e.IsZero) continue;
            atoms.Add(atom);
            exponents.Add(e);
        }
        return (coefficient, atoms.Count == 0 ? One : new Monomial(atoms.ToArray(), exponents.ToArray()));
    }
}

/// <summary>Raised while building an exact form for something the exact engine does not represent.</summary>
internal sealed class NotExactException : Exception;
