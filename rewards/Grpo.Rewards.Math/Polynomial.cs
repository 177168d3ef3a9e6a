using System.Text;

namespace Grpo.Rewards.Math;

/// <summary>
/// A polynomial with exact rational coefficients over <see cref="Atom"/>s, in canonical form (one entry per
/// monomial, no zero coefficients). Two polynomials are equal exactly when their <see cref="Key"/>s are equal,
/// which is what makes (x+1)^2 and x^2+2x+1, or sqrt(117) and 3 sqrt(13), compare equal without guessing.
/// </summary>
internal sealed class Polynomial
{
    readonly Dictionary<string, (Monomial Monomial, BigRational Coefficient)> _terms;
    string? _key;

    Polynomial(Dictionary<string, (Monomial, BigRational)> terms)
    {
        _terms = terms;
        if (_terms.Count > MathLimits.MaxTerms) throw new MathLimitException("polynomial too large");
    }

    public static readonly Polynomial Zero = new([]);
    public static readonly Polynomial One = Constant(BigRational.One);

    public static Polynomial Constant(BigRational value) =>
        value.IsZero ? Zero : new(new() { [Monomial.One.Key] = (Monomial.One, value) });

    public static Polynomial Term(BigRational coefficient, Monomial monomial) =>
        coefficient.IsZero ? Zero : new(new() { [monomial.Key] = (monomial, coefficient) });

    public int Count => _terms.Count;
    public bool IsZero => _terms.Count == 0;
    public IEnumerable<(Monomial Monomial, BigRational Coefficient)> Terms => _terms.Values;

    /// <summary>True when no atom appears: the polynomial is a rational number.</summary>
    public bool IsRational(out BigRational value)
    {
        value = BigRational.Zero;
        if (_terms.Count == 0) return true;
        if (_terms.Count == 1 && _terms.TryGetValue(Monomial.One.Key, out var t)) { value = t.Coefficient; return true; }
        return false;
    }

    /// <summary>True when it is one term: a coefficient times a monomial.</summary>
    public bool IsSingleTerm(out BigRational coefficient, out Monomial monomial)
    {
        if (_terms.Count == 1)
        {
            var t = _terms.Values.First();
            (coefficient, monomial) = (t.Coefficient, t.Monomial);
            return true;
        }
        (coefficient, monomial) = (BigRational.Zero, Monomial.One);
        return false;
    }

    public bool AnyAtom(Func<Atom, bool> predicate) => _terms.Values.Any(t => t.Monomial.Any(predicate));

    public static Polynomial operator +(Polynomial a, Polynomial b)
    {
        if (a.IsZero) return b;
        if (b.IsZero) return a;
        var terms = new Dictionary<string, (Monomial, BigRational)>(a._terms);
        foreach (var (key, (m, c)) in b._terms) AddTerm(terms, key, m, c);
        return new(terms);
    }

    public static Polynomial operator -(Polynomial a) =>
        new(a._terms.ToDictionary(kv => kv.Key, kv => (kv.Value.Monomial, -kv.Value.Coefficient)));

    public static Polynomial operator -(Polynomial a, Polynomial b) => a + (-b);

    public static Polynomial operator *(Polynomial a, Polynomial b)
    {
        if (a.IsZero || b.IsZero) return Zero;
        MathLimits.Spend(40L * a.Count * b.Count); // a term product costs about forty evaluation steps
        var terms = new Dictionary<string, (Monomial, BigRational)>();
        foreach (var (ma, ca) in a._terms.Values)
            foreach (var (mb, cb) in b._terms.Values)
            {
                var (factor, m) = Monomial.Multiply(ma, mb);
                AddTerm(terms, m.Key, m, ca * cb * factor);
                if (terms.Count > MathLimits.MaxTerms * 4) throw new MathLimitException("polynomial too large");
            }
        return new(terms);
    }

    public Polynomial Scale(BigRational factor) =>
        factor.IsZero ? Zero : new(_terms.ToDictionary(kv => kv.Key, kv => (kv.Value.Monomial, kv.Value.Coefficient * factor)));

    static void AddTerm(Dictionary<string, (Monomial, BigRational)> terms, string key, Monomial m, BigRational c)
    {
        if (terms.TryGetValue(key, out var existing))
        {
            var sum = existing.Item2 + c;
            if (sum.IsZero) terms.Remove(key);
            else terms[key] = (m, sum);
        }
        else if (!c.IsZero) terms[key] = (m, c);
    }

    /// <summary>Canonical text, terms in monomial-key order.</summary>
    public string Key
    {
        get
        {
            if (_key is not null) return _key;
            if (_terms.Count == 0) return _key = "0";
            var sb = new StringBuilder();
            foreach (var key in _terms.Keys.OrderBy(k => k, StringComparer.Ordinal))
            {
                var (_, c) = _terms[key];
                if (sb.Length > 0) sb.Append('+');
                sb.Append(c).Append('·').Append(key);
            }
            return _key = sb.ToString();
        }
    }

    /// <summary>The coefficient of the term that comes first in canonical order (used to normalize quotients).</summary>
    public BigRational LeadingCoefficient => _terms.Count == 0 ? BigRational.Zero :
        _terms[_terms.Keys.OrderBy(k => k, StringComparer.Ordinal).First()].Coefficient;
}
