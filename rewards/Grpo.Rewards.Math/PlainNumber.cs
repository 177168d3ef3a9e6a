using System.Text;

namespace Grpo.Rewards.Math;

/// <summary>A number found in prose: where it is, and its normalized text ("1,000.99" becomes "1000.99", "2,74" becomes "2.74").</summary>
internal readonly record struct PlainNumber(int Start, int End, string Text)
{
    /// <summary>
    /// Every number in <paramref name="text"/>[from..to) that stands on its own: at the start or after a space,
    /// '=', a bracket, a quote or a currency sign, never inside a word (AZYUK2A has none) or after an operator
    /// (x+1 has none). Reads thousands separators (1,000 and 1 000), a decimal point or decimal comma (1,22),
    /// a simple fraction (2/3) and a percent sign or word after it.
    /// </summary>
    public static List<PlainNumber> FindAll(string text, int from = 0, int to = -1)
    {
        if (to < 0) to = text.Length;
        var found = new List<PlainNumber>();
        int i = from;
        while (i < to)
        {
            char c = text[i];
            bool negative = c == '-' && i + 1 < to && char.IsAsciiDigit(text[i + 1]);
            if ((char.IsAsciiDigit(c) || negative) && StandsAlone(text, i, from))
            {
                var number = Read(text, i, to);
                if (number is { } n) { found.Add(n); i = n.End; continue; }
            }
            i++;
        }
        return found;
    }

    static bool StandsAlone(string text, int i, int from)
    {
        if (i == from) return true;
        char p = text[i - 1];
        if (char.IsAsciiDigit(p) || char.IsLetter(p)) return false;
        return char.IsWhiteSpace(p) || p is '=' or '(' or '[' or '{' or '"' or '\'' or '*' or ':' or '$' or '€' or '£' or '¥' or '₹' or '>';
    }

    static PlainNumber? Read(string text, int start, int to)
    {
        int i = start;
        var sb = new StringBuilder();
        if (text[i] == '-') { sb.Append('-'); i++; }
        int digitsStart = i;
        while (i < to && char.IsAsciiDigit(text[i])) i++;
        sb.Append(text, digitsStart, i - digitsStart);
        int leading = i - digitsStart;
        if (leading == 0) return null;

        // Thousands groups: 1,000,000 or 1 000 000 (first group 1-3 digits, not starting with 0).
        bool grouped = false;
        if (leading <= 3 && text[digitsStart] != '0')
        {
            foreach (var separator in new[] { ',', ' ' })
            {
                int j = i;
                while (j + 4 <= to && text[j] == separator && AllDigits(text, j + 1, 3) && (j + 4 == to || !char.IsAsciiDigit(text[j + 4])))
                {
                    sb.Append(text, j + 1, 3);
                    j += 4;
                    grouped = true;
                }
                if (grouped) { i = j; break; }
            }
        }
        // Decimal part: a point, or a comma when the number was not already grouped by commas (1,22 and 1000,99).
        if (i + 1 < to && (text[i] == '.' || (text[i] == ',' && !grouped)) && char.IsAsciiDigit(text[i + 1]))
        {
            int j = i + 1;
            while (j < to && char.IsAsciiDigit(text[j])) j++;
            sb.Append('.').Append(text, i + 1, j - i - 1);
            i = j;
        }
        // A simple fraction: 2/3, 10 / 9.
        int k = i;
        while (k < to && text[k] == ' ') k++;
        if (k + 1 < to && text[k] == '/')
        {
            int d = k + 1;
            while (d < to && text[d] == ' ') d++;
            int e = d;
            while (e < to && char.IsAsciiDigit(text[e])) e++;
            if (e > d) { sb.Append('/').Append(text, d, e - d); i = e; }
        }
        // A percent sign or word.
        k = i;
        while (k < to && text[k] == ' ') k++;
        foreach (var word in new[] { "%", "percentage", "percent", "pct" })
            if (string.Compare(text, k, word, 0, word.Length, StringComparison.OrdinalIgnoreCase) == 0)
            {
                sb.Append('%');
                i = k + word.Length;
                break;
            }
        return new PlainNumber(start, i, sb.ToString());
    }

    static bool AllDigits(string text, int start, int count)
    {
        for (int k = start; k < start + count; k++)
            if (!char.IsAsciiDigit(text[k])) return false;
        return true;
    }
}
