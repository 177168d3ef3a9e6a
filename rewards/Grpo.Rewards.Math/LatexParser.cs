using System.Numerics;
using System.Text;

namespace Grpo.Rewards.Math;

/// <summary>
/// Recursive-descent parser from tokens to a <see cref="MathExpr"/>, for LaTeX and plain maths alike.
/// </summary>
/// <remarks>
/// Precedence, loosest first: answer lists (, ; and or) &gt; relations (= &lt; \le \in ...) &gt; set operators (\cup) &gt;
/// ratios (a:b) &gt; sums (+ - \pm) &gt; products (* \cdot / and implicit) &gt; unary minus &gt; powers &gt; postfix
/// (! % ° units subscripts) &gt; atoms. Depth is bounded by <see cref="MathLimits.MaxDepth"/>; any construct it does
/// not understand fails the parse (<see cref="TryParse"/> returns null) rather than guessing.
/// </remarks>
internal sealed class LatexParser
{
    static readonly HashSet<string> FracCommands = ["frac", "dfrac", "tfrac", "cfrac"];
    static readonly HashSet<string> BinomCommands = ["binom", "dbinom", "tbinom"];
    static readonly HashSet<string> FunctionNames =
        ["sin", "cos", "tan", "sec", "csc", "cot", "arcsin", "arccos", "arctan", "sinh", "cosh", "tanh", "ln", "log", "lg", "exp"];
    static readonly HashSet<string> PlainFunctionWords = [.. FunctionNames, "sqrt", "abs"];
    static readonly HashSet<string> StyleCommands =
        ["mathrm", "mathbf", "mathit", "mathsf", "mathtt", "mathcal", "mathbb", "mathfrak", "boldsymbol", "bm", "mathnormal",
         "overline", "underline", "bar", "hat", "vec", "tilde", "widehat", "widetilde", "overrightarrow", "dot", "ddot", "boxed", "fbox"];
    static readonly HashSet<string> Greek =
        ["alpha", "beta", "gamma", "delta", "epsilon", "varepsilon", "zeta", "eta", "theta", "vartheta", "iota", "kappa",
         "lambda", "mu", "nu", "xi", "rho", "varrho", "sigma", "varsigma", "tau", "upsilon", "phi", "varphi", "chi", "psi",
         "omega", "Gamma", "Delta", "Theta", "Lambda", "Xi", "Sigma", "Upsilon", "Phi", "Psi", "Omega"];
    static readonly HashSet<string> MatrixEnvironments = ["matrix", "pmatrix", "bmatrix", "Bmatrix", "vmatrix", "Vmatrix", "smallmatrix", "array"];
    static readonly HashSet<string> PercentWords = ["percent", "pct", "percentage", "perc"];

    /// <summary>Words that name a unit after a number; the number is the answer (15 cm, 4 hours).</summary>
    static readonly HashSet<string> UnitWords = new(StringComparer.OrdinalIgnoreCase)
    {
        "cm", "mm", "km", "kg", "mg", "ml", "hr", "hrs", "mins", "ft", "yd", "mph", "lb", "lbs", "oz", "units", "unit",
        "dollars", "dollar", "cents", "cent", "yuan", "euros", "euro", "meters", "meter", "metres", "metre", "miles",
        "mile", "inches", "inch", "feet", "foot", "yards", "yard", "hours", "hour", "minutes", "minute", "seconds",
        "second", "days", "day", "weeks", "week", "years", "year", "months", "month", "degrees", "degree", "deg",
        "liters", "litres", "liter", "litre", "grams", "gram", "kilograms", "pounds", "pound", "people", "students",
        "ways", "points", "square", "sq", "cubic",
    };

    readonly List<Token> _tokens;
    readonly string _source;
    int _pos;
    int _depth;
    int _absDepth;

    LatexParser(List<Token> tokens, string source)
    {
        _tokens = tokens;
        _source = source;
    }

    /// <summary>Parses a whole answer; null when it is not a maths expression this parser understands.</summary>
    /// <param name="source">The answer text, without surrounding $ delimiters.</param>
    /// <param name="latex">LaTeX notation (true) or plain text, where "1,234" is always one number.</param>
    public static MathExpr? TryParse(string source, bool latex)
    {
        if (string.IsNullOrWhiteSpace(source) || source.Length > MathLimits.MaxAnswerChars) return null;
        try
        {
            var parser = new LatexParser(LatexTokenizer.Tokenize(source, latex), source);
            var result = parser.ParseList(static _ => false);
            return parser.Peek.Kind == TokenKind.End ? result : null;
        }
        catch (FormatException) { return null; }
        catch (MathLimitException) { return null; }
        catch (DivideByZeroException) { return null; }
        catch (OverflowException) { return null; }
    }

    Token Peek => _tokens[_pos];
    Token PeekAt(int offset) => _tokens[System.Math.Min(_pos + offset, _tokens.Count - 1)];
    Token Next() => _tokens[_pos < _tokens.Count - 1 ? _pos++ : _pos];

    void Expect(string op)
    {
        if (!Peek.IsOp(op)) throw new FormatException($"expected '{op}'");
        _pos++;
    }

    static FormatException Error(string message) => new(message);

    // ---- answer lists ------------------------------------------------------------------------------------------

    // Items separated by , and or (one level) and ; (a level above: "p=5,q=2;p=7,q=2" is two pairs).
    MathExpr ParseList(Func<Token, bool> isCloser)
    {
        var groups = new List<List<MathExpr>>();
        var current = new List<MathExpr>();
        while (true)
        {
            var t = Peek;
            if (t.Kind == TokenKind.End || isCloser(t)) break;
            if (t.Kind == TokenKind.Separator || t.IsOp(",")) { _pos++; continue; }
            if (t.IsOp(";")) { _pos++; groups.Add(current); current = []; continue; }
            current.Add(ParseRelation());
            // A trailing word after an item ("(3, 3) for part (a)") is commentary, not part of the answer.
            while (Peek.Kind == TokenKind.Text) _pos++;
            var after = Peek;
            if (!(after.Kind is TokenKind.End or TokenKind.Separator || after.IsOp(",") || after.IsOp(";") || isCloser(after)))
                throw Error($"unexpected '{after.Text}'");
        }
        groups.Add(current);
        var parts = groups.Where(g => g.Count > 0).Select(g => g.Count == 1 ? g[0] : groups.Count > 1 ? new TupleExpr(g) : new ListExpr(g)).ToList();
        return parts.Count switch
        {
            0 => throw Error("empty answer"),
            1 => parts[0],
            _ => new ListExpr(parts),
        };
    }

    // ---- relations, sets, ratios, sums, products -------------------------------------------------------------

    MathExpr ParseRelation()
    {
        var operands = new List<MathExpr> { ParseSetExpression() };
        var ops = new List<RelOp>();
        while (TryRelationOperator(out var op))
        {
            ops.Add(op);
            operands.Add(ParseSetExpression());
        }
        return ops.Count == 0 ? operands[0] : new Relation(operands, ops);
    }

    bool TryRelationOperator(out RelOp op)
    {
        var t = Peek;
        RelOp? found = t.Kind switch
        {
            TokenKind.Op => t.Text switch
            {
                "=" => RelOp.Eq, "<" => RelOp.Lt, ">" => RelOp.Gt, "<=" => RelOp.Le, ">=" => RelOp.Ge, "!=" => RelOp.Ne, _ => null,
            },
            TokenKind.Command => t.Text switch
            {
                "le" or "leq" or "leqslant" => RelOp.Le, "ge" or "geq" or "geqslant" => RelOp.Ge, "lt" => RelOp.Lt,
                "gt" => RelOp.Gt, "ne" or "neq" => RelOp.Ne, "approx" => RelOp.Approx, "in" => RelOp.In, _ => null,
            },
            _ => null,
        };
        op = found ?? default;
        if (found is null) return false;
        _pos++;
        return true;
    }

    MathExpr ParseSetExpression()
    {
        var left = ParseRatio();
        while (Peek.Kind == TokenKind.Command && Peek.Text is "cup" or "cap" or "setminus" or "backslash")
        {
            var kind = Next().Text switch { "cup" => SetOpKind.Union, "cap" => SetOpKind.Intersection, _ => SetOpKind.Difference };
            left = new SetOp(kind, left, ParseRatio());
        }
        return left;
    }

    MathExpr ParseRatio()
    {
        var parts = new List<MathExpr> { ParseAdditive() };
        while (Peek.IsOp(":"))
        {
            _pos++;
            parts.Add(ParseAdditive());
        }
        return parts.Count == 1 ? parts[0] : new Ratio(parts);
    }

    MathExpr ParseAdditive()
    {
        var terms = new List<MathExpr>();
        MathExpr Collapse() => terms.Count == 1 ? terms[0] : new Add(terms.ToList());

        if (Peek.IsCommand("pm") || Peek.IsCommand("mp")) { _pos++; terms.Add(new PlusMinus(null, ParseTerm())); }
        else terms.Add(ParseTerm());

        while (true)
        {
            var t = Peek;
            if (t.IsOp("+")) { _pos++; terms.Add(ParseTerm()); }
            else if (t.IsOp("-")) { _pos++; terms.Add(new Neg(ParseTerm())); }
            else if (t.IsCommand("pm") || t.IsCommand("mp"))
            {
                _pos++;
                var left = Collapse();
                terms.Clear();
                terms.Add(new PlusMinus(left, ParseTerm()));
            }
            else break;
        }
        return Collapse();
    }

    MathExpr ParseTerm()
    {
        MathExpr result = ParseUnary();
        var factors = new List<MathExpr> { result };
        while (true)
        {
            var t = Peek;
            if (t.IsOp("*") || (t.Kind == TokenKind.Command && t.Text is "cdot" or "times" or "ast"))
            {
                _pos++;
                factors.Add(ParseUnary());
            }
            else if (t.IsOp("/") || t.IsCommand("div"))
            {
                _pos++;
                var numerator = factors.Count == 1 ? factors[0] : new Mul(factors.ToList());
                factors.Clear();
                factors.Add(new Div(numerator, ParseUnary()));
            }
            else if (t.Kind == TokenKind.Text && factors.Count > 0 && !IsNumericText(t.Text))
            {
                // A unit or word after a value: 15\text{ cm}^2, \frac{1}{3}\textbf{ meters}.
                _pos++;
                SkipUnitPower();
            }
            else if (factors.Count == 1 && IsMixedNumber(factors[0], t))
            {
                // 2\frac{1}{2} is two and a half, not one.
                var whole = (Num)factors[0];
                var fraction = (Div)ParsePower();
                factors[0] = new Add([whole, fraction]);
            }
            else if (StartsImplicitFactor(t)) factors.Add(ParsePower());
            else break;
        }
        return factors.Count == 1 ? factors[0] : new Mul(factors);
    }

    // A whole number written right before \frac{p}{q} with integers p < q.
    bool IsMixedNumber(MathExpr before, Token t)
    {
        if (before is not Num { IsDecimal: false, Value: { IsInteger: true, Sign: > 0 } } || t.Kind != TokenKind.Command || !FracCommands.Contains(t.Text))
            return false;
        // \frac { p } { q }
        var (open1, p, close1, open2, q, close2) = (PeekAt(1), PeekAt(2), PeekAt(3), PeekAt(4), PeekAt(5), PeekAt(6));
        return open1.IsOp("{") && close1.IsOp("}") && open2.IsOp("{") && close2.IsOp("}")
            && p is { Kind: TokenKind.Number, IsDecimal: false } && q is { Kind: TokenKind.Number, IsDecimal: false }
            && p.Value < q.Value && !p.Value.IsZero;
    }

    void SkipUnitPower()
    {
        if (Peek.IsOp("^") && PeekAt(1).Kind == TokenKind.Number) _pos += 2;
        else if (Peek.IsOp("^") && PeekAt(1).IsOp("{") && PeekAt(2).Kind == TokenKind.Number && PeekAt(3).IsOp("}")) _pos += 4;
    }

    bool StartsImplicitFactor(Token t) => t.Kind switch
    {
        TokenKind.Number or TokenKind.BeginEnv => true,
        TokenKind.Word => !PercentWords.Contains(t.Text),
        TokenKind.Op => t.Text == "(" || (t.Text == "|" && _absDepth == 0),
        TokenKind.Command => t.Text is not ("cdot" or "times" or "ast" or "div" or "pm" or "mp" or "cup" or "cap" or "setminus"
            or "backslash" or "le" or "leq" or "leqslant" or "ge" or "geq" or "geqslant" or "lt" or "gt" or "ne" or "neq"
            or "approx" or "in" or "mid" or "rangle" or "rfloor" or "rceil" or "rvert" or "rVert" or "vert" or "Vert" or "prime"),
        _ => false,
    };

    MathExpr ParseUnary()
    {
        if (++_depth > MathLimits.MaxDepth) throw new MathLimitException("nesting too deep");
        try
        {
            if (Peek.IsOp("-")) { _pos++; return new Neg(ParseUnary()); }
            if (Peek.IsOp("+")) { _pos++; return ParseUnary(); }
            if (Peek.IsCommand("pm") || Peek.IsCommand("mp")) { _pos++; return new PlusMinus(null, ParseUnary()); }
            return ParsePower();
        }
        finally { _depth--; }
    }

    MathExpr ParsePower()
    {
        var b = ParsePostfix();
        while (Peek.IsOp("^"))
        {
            _pos++;
            var exponent = ParseExponent();
            if (exponent is not null) b = new Pow(b, exponent);
            b = ParsePostfixOperators(b);
        }
        return b;
    }

    // The exponent after ^: a group, a signed atom, or a degree sign (returns null: 90^\circ is 90).
    MathExpr? ParseExponent()
    {
        if (Peek.Kind == TokenKind.Degree) { _pos++; return null; }
        if (Peek.IsOp("{"))
        {
            if (PeekAt(1).Kind == TokenKind.Degree && PeekAt(2).IsOp("}")) { _pos += 3; return null; }
            _pos++;
            var e = ParseList(t => t.IsOp("}"));
            Expect("}");
            return e;
        }
        if (Peek.IsOp("-")) { _pos++; return new Neg(ParseExponentAtom()); }
        if (Peek.IsOp("+")) _pos++;
        return ParseExponentAtom();
    }

    MathExpr ParseExponentAtom()
    {
        var t = Peek;
        if (t.Kind == TokenKind.Word && t.Text.Length > 1) SplitWord();
        return ParsePrimary();
    }

    MathExpr ParsePostfix() => ParsePostfixOperators(ParsePrimary());

    MathExpr ParsePostfixOperators(MathExpr p)
    {
        while (true)
        {
            var t = Peek;
            if (t.IsOp("!") && !PeekAt(1).IsOp("=")) { _pos++; p = new Call("factorial", [p]); }
            else if (t.IsOp("%") || (t.Kind == TokenKind.Word && PercentWords.Contains(t.Text.ToLowerInvariant()))) { _pos++; p = new Percent(p); }
            else if (t.Kind == TokenKind.Degree) _pos++;
            else if (t.IsOp("'") || t.IsCommand("prime")) { _pos++; p = p is Sym s ? new Sym(s.Name + "'") : throw Error("prime on an expression"); }
            else if (t.IsOp("_")) { _pos++; p = Subscript(p); }
            else if (t.Kind == TokenKind.Word && UnitWords.Contains(t.Text) && IsNumeric(p)) { _pos++; SkipUnitPower(); }
            else return p;
        }
    }

    static bool IsNumeric(MathExpr e) => e is Num or Percent || (e is Neg n && IsNumeric(n.Operand));

    // x_1, a_{37}, F_{n-k-1} become one name; 204_5 is a number in base 5.
    MathExpr Subscript(MathExpr target)
    {
        var raw = ReadRawArgument();
        switch (target)
        {
            case Sym s: return new Sym(s.Name + "_" + raw);
            case Const { Kind: ConstantKind.E }: return new Sym("e_" + raw);
            case Const { Kind: ConstantKind.I }: return new Sym("i_" + raw);
            case Num { IsDecimal: false } n when int.TryParse(raw, out int radix) && radix is >= 2 and <= 36:
                return FromBase(n, radix) is { } converted ? converted : new Sym(n.Value + "_" + raw);
            default: throw Error("subscript on an expression");
        }
    }

    static Num? FromBase(Num n, int radix)
    {
        var digits = n.Value.Numerator.ToString();
        BigInteger value = 0;
        foreach (var d in digits)
        {
            int v = d - '0';
            if (v >= radix) return null;
            value = value * radix + v;
        }
        return new Num(new BigRational(value));
    }

    // The source text of a one-token or braced argument, without spaces or braces: "{n-k-1}" -> "n-k-1".
    string ReadRawArgument()
    {
        var t = Next();
        if (t.IsOp("{"))
        {
            int depth = 1, start = t.End;
            while (true)
            {
                var u = Next();
                if (u.Kind == TokenKind.End) throw Error("unbalanced braces");
                if (u.IsOp("{")) depth++;
                else if (u.IsOp("}") && --depth == 0)
                    return Compact(_source[start..u.Start]);
            }
        }
        if (t.Kind is TokenKind.Number or TokenKind.Word)
        {
            // x_12 means x_1 2 in TeX, but models mean x_{12}; a word subscript keeps its first letter only (a_nb).
            if (t.Kind == TokenKind.Word && t.Text.Length > 1) { _pos--; SplitWord(); return Next().Text; }
            return t.Text;
        }
        if (t.Kind == TokenKind.Command) return t.Text;
        throw Error("missing subscript");
    }

    static string Compact(string s)
    {
        var sb = new StringBuilder(s.Length);
        foreach (var c in s) if (!char.IsWhiteSpace(c) && c != '{' && c != '}') sb.Append(c);
        return sb.ToString();
    }

    // ---- atoms -------------------------------------------------------------------------------------------------

    MathExpr ParsePrimary()
    {
        if (++_depth > MathLimits.MaxDepth) throw new MathLimitException("nesting too deep");
        try
        {
            var t = Peek;
            switch (t.Kind)
            {
                case TokenKind.Number:
                    _pos++;
                    return new Num(t.Value, t.IsDecimal);
                case TokenKind.Word:
                    return ParseWord();
                case TokenKind.Text:
                    _pos++;
                    return TextAtom(t.Text);
                case TokenKind.BeginEnv:
                    return ParseMatrix();
                case TokenKind.Command:
                    return ParseCommand();
                case TokenKind.Op:
                    switch (t.Text)
                    {
                        case "(" or "[": return ParseBracketed();
                        case "{":
                        {
                            _pos++;
                            var e = ParseList(u => u.IsOp("}"));
                            Expect("}");
                            return e;
                        }
                        case "\\{":
                        {
                            _pos++;
                            if (Peek.IsOp("\\}")) { _pos++; return new SetExpr([]); }
                            var e = ParseList(u => u.IsOp("\\}"));
                            Expect("\\}");
                            return new SetExpr(e is ListExpr l ? l.Items : [e]);
                        }
                        case "|": return ParseAbs("|", u => u.IsOp("|"));
                    }
                    break;
            }
            throw Error($"unexpected '{t.Text}'");
        }
        finally { _depth--; }
    }

    static bool IsNumericText(string text) => text.Length > 0 && text.All(c => char.IsAsciiDigit(c) || c is '.' or '-' or ' ');

    static MathExpr TextAtom(string text)
    {
        var trimmed = text.Trim();
        if (IsNumericText(trimmed) && LatexParser.TryParse(trimmed, latex: false) is Num n) return n;
        return new Text(trimmed);
    }

    MathExpr ParseWord()
    {
        var t = Peek;
        var word = t.Text;
        if (PlainFunctionWords.Contains(word) && (PeekAt(1).IsOp("(") || PeekAt(1).IsOp("^") || word.Length > 2))
        {
            _pos++;
            return word switch
            {
                "sqrt" => new Root(ParseFunctionArgument(), 2),
                "abs" => new Call("abs", [ParseFunctionArgument()]),
                _ => ParseFunction(word),
            };
        }
        if (word is "pi") { _pos++; return new Const(ConstantKind.Pi); }
        if (word is "infty" or "infinity" or "inf") { _pos++; return new Const(ConstantKind.Infinity); }
        if (word.Length > 1) SplitWord();
        var letter = Next().Text;
        return letter switch
        {
            "e" => new Const(ConstantKind.E),
            "i" => new Const(ConstantKind.I),
            _ => new Sym(letter),
        };
    }

    // Replaces the multi-letter word at the cursor by one token per letter: xy is x*y, and x^2 binds to the last.
    void SplitWord()
    {
        var t = Peek;
        var letters = new List<Token>();
        for (int k = 0; k < t.Text.Length; k++)
            letters.Add(new Token { Kind = TokenKind.Word, Text = t.Text[k].ToString(), Start = t.Start + k, End = t.Start + k + 1, SpaceBefore = k == 0 && t.SpaceBefore });
        _tokens.RemoveAt(_pos);
        _tokens.InsertRange(_pos, letters);
    }

    MathExpr ParseCommand()
    {
        var name = Next().Text;
        if (FracCommands.Contains(name)) return new Div(ParseArgument(), ParseArgument());
        if (BinomCommands.Contains(name)) return new Call("binom", [ParseArgument(), ParseArgument()]);
        if (FunctionNames.Contains(name)) return ParseFunction(name);
        if (Greek.Contains(name)) return new Sym(name);
        if (StyleCommands.Contains(name)) return ParseArgument();
        switch (name)
        {
            case "sqrt":
            {
                if (Peek.IsOp("["))
                {
                    _pos++;
                    var index = ParseList(u => u.IsOp("]"));
                    Expect("]");
                    var radicand = ParseArgument();
                    return index is Num { Value.IsInteger: true } n && n.Value.Numerator >= 2 && n.Value.Numerator <= 64
                        ? new Root(radicand, (int)n.Value.Numerator)
                        : new Pow(radicand, new Div(new Num(BigRational.One), index));
                }
                return new Root(ParseArgument(), 2);
            }
            case "pi": return new Const(ConstantKind.Pi);
            case "infty" or "infin": return new Const(ConstantKind.Infinity);
            case "imath": return new Const(ConstantKind.I);
            case "emptyset" or "varnothing": return new SetExpr([]);
            case "operatorname":
            {
                var word = ReadRawArgument();
                return FunctionNames.Contains(word) ? ParseFunction(word) : new Sym(word);
            }
            case "sum" or "prod": return ParseBigOperator(name);
            case "langle":
            {
                var e = ParseList(u => u.IsCommand("rangle"));
                Next();
                return new TupleExpr(e is ListExpr l ? l.Items : [e]);
            }
            case "lfloor": return ParseDelimitedCall("floor", "rfloor");
            case "lceil": return ParseDelimitedCall("ceil", "rceil");
            case "lvert": return ParseAbs("lvert", u => u.IsCommand("rvert"));
            case "vert": return ParseAbs("vert", u => u.IsCommand("vert"));
            case "lVert": return ParseAbs("lVert", u => u.IsCommand("rVert"));
            case "Vert": return ParseAbs("Vert", u => u.IsCommand("Vert"));
        }
        throw Error($"unexpected \\{name}");
    }

    MathExpr ParseDelimitedCall(string function, string closer)
    {
        var inner = ParseAdditive();
        if (!Peek.IsCommand(closer)) throw Error($"missing \\{closer}");
        _pos++;
        return new Call(function, [inner]);
    }

    MathExpr ParseAbs(string opener, Func<Token, bool> isCloser)
    {
        if (opener == "|") _pos++;
        _absDepth++;
        var inner = ParseAdditive();
        _absDepth--;
        if (!isCloser(Peek)) throw Error("unclosed |");
        _pos++;
        return new Call("abs", [inner]);
    }

    // \frac{a}{b}, \frac12, \frac\pi2: a braced group, or a single digit, letter or command.
    MathExpr ParseArgument()
    {
        var t = Peek;
        if (t.IsOp("{"))
        {
            _pos++;
            var e = ParseList(u => u.IsOp("}"));
            Expect("}");
            return e;
        }
        if (t.Kind == TokenKind.Number && !t.IsDecimal && t.Text.Length > 1)
        {
            // \frac12: TeX takes one digit as the argument.
            var rest = t.Text[1..];
            _tokens[_pos] = new Token { Kind = TokenKind.Number, Text = rest, Value = BigRational.ParseDecimal(rest, ""), Start = t.Start + 1, End = t.End };
            return new Num(new BigRational(t.Text[0] - '0'));
        }
        if (t.Kind == TokenKind.Word && t.Text.Length > 1) SplitWord();
        if (t.Kind is TokenKind.Number or TokenKind.Word or TokenKind.Command) return ParsePrimary();
        throw Error("missing argument");
    }

    MathExpr ParseFunction(string name)
    {
        MathExpr? power = null;
        MathExpr? logBase = null;
        for (int k = 0; k < 2; k++)
        {
            if (Peek.IsOp("^"))
            {
                _pos++;
                var e = ParseExponent();
                // \sin^{-1} is arcsin, not 1/sin.
                if (e is Neg { Operand: Num { Value.IsOne: true } } && name is "sin" or "cos" or "tan") name = "arc" + name;
                else power = e;
            }
            else if (Peek.IsOp("_") && name == "log")
            {
                _pos++;
                logBase = Peek.IsOp("{") ? ParseArgument() : ParsePrimary();
            }
        }
        var arg = ParseFunctionArgument();
        MathExpr call = name switch
        {
            "log" when logBase is not null => new Div(new Call("ln", [arg]), new Call("ln", [logBase])),
            "lg" => new Div(new Call("ln", [arg]), new Call("ln", [new Num(new BigRational(10))])),
            "log" => new Call("ln", [arg]),
            _ => new Call(name, [arg]),
        };
        return power is null ? call : new Pow(call, power);
    }

    // sin(x), sin x, sin 2x (a power-level factor; parentheses when present).
    MathExpr ParseFunctionArgument() => Peek.IsOp("(") ? ParsePrimary() : ParsePower();

    // \sum_{k=0}^{n-1} body: the body is the product that follows.
    MathExpr ParseBigOperator(string name)
    {
        MathExpr? lower = null, upper = null;
        for (int k = 0; k < 2; k++)
        {
            if (Peek.IsOp("_")) { _pos++; lower = ParseArgument(); }
            else if (Peek.IsOp("^")) { _pos++; upper = ParseExponent(); }
        }
        if (lower is not Relation { Ops: [RelOp.Eq], Operands: [var variable, var from] } || upper is null)
            throw Error($"\\{name} needs _{{k=a}}^{{b}}");
        var index = variable switch
        {
            Sym s => s.Name,
            Const { Kind: ConstantKind.I } => "i",
            Const { Kind: ConstantKind.E } => "e",
            _ => throw Error("sum index must be a letter"),
        };
        var body = ParseTerm();
        if (index is "i" or "e") body = ExprRewriter.ReplaceConstant(body, index == "i" ? ConstantKind.I : ConstantKind.E, new Sym(index));
        return new Call(name, [new Sym(index), from, upper, body]);
    }

    // ( ... ) and [ ... ]: a group, a tuple, or an interval with open/closed ends.
    MathExpr ParseBracketed()
    {
        var open = Next().Text;
        var inner = ParseList(u => u.IsOp(")") || u.IsOp("]"));
        var close = Next().Text;
        if (close is not (")" or "]")) throw Error("unclosed bracket");
        var items = inner is ListExpr l ? l.Items : [inner];
        bool round = open == "(" && close == ")";
        if (items.Count == 1)
        {
            if (round || (open == "[" && close == "]")) return items[0];
            throw Error("half-open bracket around one item");
        }
        if (items.Count == 2 && !round) return new Interval(items[0], items[1], open == "(", close == ")");
        return new TupleExpr(items);
    }

    MathExpr ParseMatrix()
    {
        var env = Next().Text;
        if (!MatrixEnvironments.Contains(env)) throw Error($"unsupported environment {env}");
        var rows = new List<IReadOnlyList<MathExpr>>();
        var row = new List<MathExpr>();
        while (true)
        {
            var t = Peek;
            if (t.Kind == TokenKind.End) throw Error("unclosed matrix");
            if (t.Kind == TokenKind.EndEnv) { _pos++; break; }
            if (t.Kind == TokenKind.RowSep) { _pos++; rows.Add(row); row = []; continue; }
            if (t.IsOp("&")) { _pos++; continue; }
            row.Add(ParseRelation());
        }
        rows.Add(row);
        rows.RemoveAll(r => r.Count == 0);
        if (rows.Count == 0 || rows.Any(r => r.Count != rows[0].Count)) throw Error("ragged matrix");
        return new Matrix(rows);
    }
}
