using System.Text;

namespace Grpo.Rewards.Math;

/// <summary>What a token is.</summary>
internal enum TokenKind
{
    /// <summary>A number literal, thousands separators already removed.</summary>
    Number,
    /// <summary>A run of letters (x, xy, sin, cm); the parser splits it into variables unless it is a known word.</summary>
    Word,
    /// <summary>A LaTeX command, without its backslash: frac, sqrt, pi, le.</summary>
    Command,
    /// <summary>The raw content of \text{...} (and \mbox, \textbf, ...).</summary>
    Text,
    /// <summary>One operator or bracket character (+ - * / ^ _ ( ) [ ] { } | , ; : = &lt; &gt; ! % &amp; '), or a two-character
    /// one (&lt;= &gt;= != \{ \}).</summary>
    Op,
    /// <summary>\\ between matrix rows.</summary>
    RowSep,
    /// <summary>\begin{name}; Text holds the environment name.</summary>
    BeginEnv,
    /// <summary>\end{name}.</summary>
    EndEnv,
    /// <summary>A degree sign: ^\circ, \degree, °.</summary>
    Degree,
    /// <summary>A word that separates answers: and, or, \text{ and }.</summary>
    Separator,
    /// <summary>End of input.</summary>
    End,
}

/// <summary>One token; <see cref="Start"/>..<see cref="End"/> index the normalized source.</summary>
internal sealed class Token
{
    public TokenKind Kind;
    public string Text = "";
    public BigRational Value;
    public bool IsDecimal;
    public int Start;
    public int End;
    public bool SpaceBefore;

    public bool IsOp(string op) => Kind == TokenKind.Op && Text == op;
    public bool IsCommand(string name) => Kind == TokenKind.Command && Text == name;
    public override string ToString() => $"{Kind}:{Text}";
}

/// <summary>
/// Splits a LaTeX or plain-text answer into tokens. It is where notation is normalized: thousands separators
/// (1,000  1{,}000  1\,000  11,\!111  1 000) become one number, spacing and sizing commands vanish, \text{...}
/// is kept whole, double-escaped commands (\\frac, as models sometimes write) are read as single ones, and
/// a command glued to a letter (\quadx) is split.
/// </summary>
internal static class LatexTokenizer
{
    /// <summary>Commands the parser understands, by name; anything else is a parse failure (unknown command).</summary>
    public static readonly HashSet<string> KnownCommands = new(StringComparer.Ordinal)
    {
        // structure
        "frac", "dfrac", "tfrac", "cfrac", "sqrt", "binom", "dbinom", "tbinom", "sum", "prod", "boxed", "fbox",
        // style wrappers read as their content
        "mathrm", "mathbf", "mathit", "mathsf", "mathtt", "mathcal", "mathbb", "mathfrak", "boldsymbol", "bm",
        "mathnormal", "operatorname", "overline", "underline", "bar", "hat", "vec", "tilde", "widehat",
        "widetilde", "overrightarrow", "dot", "ddot",
        // functions
        "sin", "cos", "tan", "sec", "csc", "cot", "arcsin", "arccos", "arctan", "sinh", "cosh", "tanh",
        "log", "ln", "lg", "exp",
        // constants and symbols
        "pi", "infty", "infin", "emptyset", "varnothing", "imath",
        "alpha", "beta", "gamma", "delta", "epsilon", "varepsilon", "zeta", "eta", "theta", "vartheta", "iota",
        "kappa", "lambda", "mu", "nu", "xi", "rho", "varrho", "sigma", "varsigma", "tau", "upsilon", "phi",
        "varphi", "chi", "psi", "omega", "Gamma", "Delta", "Theta", "Lambda", "Xi", "Sigma", "Upsilon", "Phi",
        "Psi", "Omega",
        // operators and relations
        "cdot", "times", "div", "ast", "pm", "mp", "cup", "cap", "setminus", "backslash",
        "le", "leq", "leqslant", "ge", "geq", "geqslant", "lt", "gt", "ne", "neq", "approx", "in",
        "mid", "vert", "lvert", "rvert", "Vert", "lVert", "rVert", "langle", "rangle", "lfloor", "rfloor",
        "lceil", "rceil", "prime",
    };

    static readonly HashSet<string> SkippedCommands = new(StringComparer.Ordinal)
    {
        "quad", "qquad", "enspace", "thinspace", "medspace", "thickspace", "negthinspace", "negmedspace",
        "displaystyle", "textstyle", "scriptstyle", "limits", "nolimits", "left", "right", "middle",
        "big", "Big", "bigg", "Bigg", "bigl", "bigr", "Bigl", "Bigr", "biggl", "biggr", "Biggl", "Biggr",
        "mathstrut", "hfill", "noindent", "nonumber", "notag",
    };

    static readonly HashSet<string> TextCommands = new(StringComparer.Ordinal)
    {
        "text", "textbf", "textit", "textrm", "textnormal", "textsf", "texttt", "textup", "mbox", "hbox", "emph",
    };

    static readonly HashSet<string> DegreeCommands = new(StringComparer.Ordinal) { "circ", "degree" };

    // Longest first, so that \quadx splits as \quad x and \leq as \leq, not \le q.
    static readonly string[] PrefixCandidates = KnownCommands.Concat(SkippedCommands).Concat(TextCommands)
        .Concat(DegreeCommands).Where(c => c.Length >= 2).OrderByDescending(c => c.Length).ToArray();

    /// <summary>Tokenizes <paramref name="source"/>. <paramref name="latex"/>: LaTeX notation, where a comma
    /// inside brackets separates items; in plain text "1,234" is always one number.</summary>
    /// <exception cref="FormatException">A character or construct that no answer contains.</exception>
    public static List<Token> Tokenize(string source, bool latex)
    {
        var tokens = new List<Token>();
        int i = 0, depth = 0;
        bool space = false;
        while (i < source.Length)
        {
            MathLimits.Spend(1);
            char c = source[i];
            int start = i;
            if (char.IsWhiteSpace(c) || c == '~' || c == '$' || char.IsControl(c)) { i++; space = true; continue; }

            if (char.IsAsciiDigit(c) || (c == '.' && i + 1 < source.Length && char.IsAsciiDigit(source[i + 1])))
            {
                var token = ReadNumber(source, ref i, latex && depth > 0);
                token.SpaceBefore = space;
                tokens.Add(token);
                space = false;
                continue;
            }

            if (char.IsLetter(c))
            {
                int end = i;
                while (end < source.Length && char.IsLetter(source[end]) && source[end] < 128) end++;
                if (end == i) end = i + 1; // a non-ASCII letter (π handled below) stands alone
                var word = source[i..end];
                i = end;
                if (word == "π") { Add(tokens, TokenKind.Command, "pi", start, i, ref space); continue; }
                var kind = word is "and" or "or" ? TokenKind.Separator : TokenKind.Word;
                Add(tokens, kind, word, start, i, ref space);
                continue;
            }

            if (c == '\\')
            {
                ReadCommand(source, ref i, tokens, ref space, ref depth);
                continue;
            }

            switch (c)
            {
                case '(' or '[' or '{': depth++; break;
                case ')' or ']' or '}': depth = System.Math.Max(0, depth - 1); break;
            }

            // Two-character relations, then single characters and the Unicode forms models write.
            if (i + 1 < source.Length)
            {
                var two = source.Substring(i, 2);
                if (two is "<=" or ">=" or "!=" or "=<" or "=>" or "==")
                {
                    i += 2;
                    Add(tokens, TokenKind.Op, two switch { "=<" => "<=", "=>" => ">=", "==" => "=", _ => two }, start, i, ref space);
                    continue;
                }
            }
            i++;
            switch (c)
            {
                case '+' or '-' or '*' or '/' or '^' or '_' or '(' or ')' or '[' or ']' or '{' or '}' or '|' or ','
                    or ';' or ':' or '=' or '<' or '>' or '!' or '%' or '&' or '\'':
                    Add(tokens, TokenKind.Op, c.ToString(), start, i, ref space); break;
                case '−' or '–': Add(tokens, TokenKind.Op, "-", start, i, ref space); break;
                case '×' or '·' or '⋅': Add(tokens, TokenKind.Op, "*", start, i, ref space); break;
                case '÷': Add(tokens, TokenKind.Op, "/", start, i, ref space); break;
                case '≤': Add(tokens, TokenKind.Op, "<=", start, i, ref space); break;
                case '≥': Add(tokens, TokenKind.Op, ">=", start, i, ref space); break;
                case '≠': Add(tokens, TokenKind.Op, "!=", start, i, ref space); break;
                case '≈': Add(tokens, TokenKind.Command, "approx", start, i, ref space); break;
                case '±': Add(tokens, TokenKind.Command, "pm", start, i, ref space); break;
                case '∞': Add(tokens, TokenKind.Command, "infty", start, i, ref space); break;
                case '√': Add(tokens, TokenKind.Command, "sqrt", start, i, ref space); break;
                case '∪': Add(tokens, TokenKind.Command, "cup", start, i, ref space); break;
                case '∩': Add(tokens, TokenKind.Command, "cap", start, i, ref space); break;
                case '∈': Add(tokens, TokenKind.Command, "in", start, i, ref space); break;
                case '°': Add(tokens, TokenKind.Degree, "", start, i, ref space); break;
                case '²' or '³':
                    Add(tokens, TokenKind.Op, "^", start, i, ref space);
                    tokens.Add(new Token { Kind = TokenKind.Number, Text = c == '²' ? "2" : "3", Value = c == '²' ? 2 : 3, Start = start, End = i });
                    break;
                case '€' or '£' or '¥' or '₹' or '₽' or '₩' or '¢': space = true; break; // currency signs carry no value
                case '"' or '?' or '.': space = true; break; // stray punctuation around an answer
                default: throw new FormatException($"unexpected character '{c}'");
            }
        }
        tokens.Add(new Token { Kind = TokenKind.End, Start = source.Length, End = source.Length, SpaceBefore = space });
        return tokens;
    }

    static void Add(List<Token> tokens, TokenKind kind, string text, int start, int end, ref bool space)
    {
        tokens.Add(new Token { Kind = kind, Text = text, Start = start, End = end, SpaceBefore = space });
        space = false;
    }

    // A number, with thousands groups joined. In LaTeX inside brackets a bare comma separates items ([1,100] is an
    // interval), so only the explicit LaTeX separators ({,} and ,\!) join groups there.
    static Token ReadNumber(string s, ref int i, bool bareCommaSeparates)
    {
        int start = i;
        var integer = new StringBuilder();
        while (i < s.Length && char.IsAsciiDigit(s[i])) integer.Append(s[i++]);
        if (integer.Length is >= 1 and <= 3 && integer[0] != '0')
        {
            while (TryThousandsGroup(s, i, bareCommaSeparates, out int next))
            {
                integer.Append(s, next - 3, 3);
                i = next;
            }
        }
        string fraction = "";
        if (i + 1 < s.Length && s[i] == '.' && char.IsAsciiDigit(s[i + 1]))
        {
            int f = ++i;
            while (i < s.Length && char.IsAsciiDigit(s[i])) i++;
            fraction = s[f..i];
        }
        var raw = integer + (fraction.Length > 0 ? "." + fraction : "");
        var value = BigRational.ParseDecimal(integer.ToString(), fraction);
        bool isDecimal = fraction.Length > 0;
        // Scientific notation, 1.2e3 or 5E-4: a letter e directly followed by an integer exponent.
        if (i + 1 < s.Length && s[i] is 'e' or 'E')
        {
            int j = i + 1;
            if (j < s.Length && s[j] is '+' or '-') j++;
            int digits = j;
            while (j < s.Length && char.IsAsciiDigit(s[j]) && j - digits < 4) j++;
            if (j > digits && (j == s.Length || !char.IsLetterOrDigit(s[j])))
            {
                var exponent = int.Parse(s[(i + 1)..j], System.Globalization.CultureInfo.InvariantCulture);
                value *= new BigRational(10).Pow(exponent);
                raw = s[start..j];
                isDecimal = true;
                i = j;
            }
        }
        return new Token { Kind = TokenKind.Number, Text = raw, Start = start, End = i, IsDecimal = isDecimal, Value = value };
    }

    // A thousands separator at i followed by exactly three digits; returns the index after those digits.
    static bool TryThousandsGroup(string s, int i, bool bareCommaSeparates, out int next)
    {
        next = -1;
        string[] separators = bareCommaSeparates
            ? ["{,}", "{, }", ",\\!", "\\,", "\\ "]
            : ["{,}", "{, }", ",\\!", "\\,", "\\ ", ",", " "];
        foreach (var sep in separators)
        {
            // LaTeX writes the separator with optional spaces around it: 14 {, }916, 11,\! 111.
            int k = i;
            if (sep != " ") while (k < s.Length && s[k] == ' ') k++;
            if (string.CompareOrdinal(s, k, sep, 0, sep.Length) != 0) continue;
            k += sep.Length;
            if (sep != " " && sep != ",") while (k < s.Length && s[k] == ' ') k++;
            if (k + 3 <= s.Length && char.IsAsciiDigit(s[k]) && char.IsAsciiDigit(s[k + 1]) && char.IsAsciiDigit(s[k + 2])
                && (k + 3 == s.Length || !char.IsAsciiDigit(s[k + 3])))
            {
                next = k + 3;
                return true;
            }
        }
        return false;
    }

    static void ReadCommand(string s, ref int i, List<Token> tokens, ref bool space, ref int depth)
    {
        int start = i;
        i++; // backslash
        if (i < s.Length && s[i] == '\\')
        {
            // "\\frac": a double-escaped command; "\\" alone: a matrix row break.
            if (i + 1 < s.Length && char.IsAsciiLetter(s[i + 1])) { ReadCommand(s, ref i, tokens, ref space, ref depth); return; }
            i++;
            Add(tokens, TokenKind.RowSep, "\\\\", start, i, ref space);
            return;
        }
        if (i >= s.Length) { space = true; return; }
        char c = s[i];
        if (!char.IsAsciiLetter(c))
        {
            i++;
            switch (c)
            {
                case '{': depth++; Add(tokens, TokenKind.Op, "\\{", start, i, ref space); break;
                case '}': depth = System.Math.Max(0, depth - 1); Add(tokens, TokenKind.Op, "\\}", start, i, ref space); break;
                case '%': Add(tokens, TokenKind.Op, "%", start, i, ref space); break;
                case '|': Add(tokens, TokenKind.Op, "|", start, i, ref space); break;
                case ',' or ';' or ':' or '!' or ' ' or '$' or '>' or '\n' or '\t' or '&' or '#' or '_': space = true; break;
                default: throw new FormatException($"unknown command \\{c}");
            }
            return;
        }
        int end = i;
        while (end < s.Length && char.IsAsciiLetter(s[end])) end++;
        var name = s[i..end];
        if (!KnownCommands.Contains(name) && !SkippedCommands.Contains(name) && !TextCommands.Contains(name)
            && !DegreeCommands.Contains(name) && name is not ("begin" or "end"))
        {
            // \quadx, \cdotx: a known command glued to the letters after it.
            var prefix = PrefixCandidates.FirstOrDefault(p => name.StartsWith(p, StringComparison.Ordinal));
            if (prefix is null) throw new FormatException($"unknown command \\{name}");
            end = i + prefix.Length;
            name = prefix;
        }
        i = end;
        if (SkippedCommands.Contains(name))
        {
            // \left. and \right. are invisible delimiters.
            if ((name is "left" or "right") && i < s.Length && s[i] == '.') i++;
            space = true;
            return;
        }
        if (DegreeCommands.Contains(name)) { Add(tokens, TokenKind.Degree, "", start, i, ref space); return; }
        if (TextCommands.Contains(name))
        {
            var content = ReadBraced(s, ref i).Trim();
            if (content.Length == 0) { space = true; return; }
            // \text{ and }, \text{or}, \text{, }: words that separate answers.
            var kind = content.Trim(',', ' ').ToLowerInvariant() is "and" or "or" or "" ? TokenKind.Separator : TokenKind.Text;
            Add(tokens, kind, content, start, i, ref space);
            return;
        }
        if (name is "begin" or "end")
        {
            var env = ReadBraced(s, ref i).Trim();
            if (name == "begin" && env == "array") ReadBraced(s, ref i); // column spec {cc}
            Add(tokens, name == "begin" ? TokenKind.BeginEnv : TokenKind.EndEnv, env.TrimEnd('*'), start, i, ref space);
            return;
        }
        Add(tokens, TokenKind.Command, name, start, i, ref space);
    }

    // The content of a {...} group at i (balanced), or an empty string when there is none.
    static string ReadBraced(string s, ref int i)
    {
        int j = i;
        while (j < s.Length && s[j] == ' ') j++;
        if (j >= s.Length || s[j] != '{') return "";
        int depth = 0, k = j;
        for (; k < s.Length; k++)
        {
            if (s[k] == '\\') { k++; continue; }
            if (s[k] == '{') depth++;
            else if (s[k] == '}' && --depth == 0) break;
        }
        if (k >= s.Length) throw new FormatException("unbalanced braces");
        i = k + 1;
        return s[(j + 1)..k];
    }
}
