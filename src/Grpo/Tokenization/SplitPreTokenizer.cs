using System.Globalization;
using System.Text.RegularExpressions;

namespace Grpo.Tokenization;

/// <summary>
/// Cuts text into the pieces BPE runs on, with a sequence of regexes in Hugging Face's <c>Split</c> / <c>Isolated</c>
/// sense: every match and every stretch between matches is a piece, and each regex cuts the pieces of the one before.
/// </summary>
/// <remarks>
/// Hugging Face matches per Unicode code point; .NET regexes see UTF-16 units, where a letter outside the BMP
/// (<c>𝑥</c>, U+1D465) is two surrogates that neither <c>\p{L}</c> nor <c>\p{N}</c> matches. So when the text has
/// surrogate pairs the regexes run on a stand-in string in which each pair is one BMP character of the same Unicode
/// category, and the pieces are mapped back to the real text.
/// </remarks>
sealed class SplitPreTokenizer
{
    static readonly char[] CategoryStandIn = FindCategoryStandIns();

    readonly Regex[] _regexes;

    /// <summary>Compiles the patterns; <paramref name="invalid"/> turns a pattern .NET cannot compile into the caller's error.</summary>
    public SplitPreTokenizer(IReadOnlyList<string> patterns, Func<string, ArgumentException, Exception> invalid)
    {
        _regexes = patterns.Select(pattern =>
        {
            try { return new Regex(pattern, RegexOptions.Compiled | RegexOptions.CultureInvariant); }
            catch (ArgumentException e) { throw invalid(pattern, e); }
        }).ToArray();
    }

    /// <summary>Appends the pieces of <paramref name="text"/> to <paramref name="pieces"/>, in order, as (start, length) in <paramref name="text"/>.</summary>
    public void Split(string text, List<(int Start, int Length)> pieces)
    {
        if (text.Length == 0)
            return;
        var (view, viewToText) = StandInView(text);

        List<(int Start, int Length)> current = [(0, view.Length)], next = [];
        foreach (var regex in _regexes)
        {
            next.Clear();
            foreach (var (start, length) in current)
                SplitIsolated(regex, view, start, length, next);
            (current, next) = (next, current);
        }

        foreach (var (start, length) in current)
        {
            if (viewToText is null)
                pieces.Add((start, length));
            else
                pieces.Add((viewToText[start], viewToText[start + length] - viewToText[start]));
        }
    }

    static void SplitIsolated(Regex regex, string text, int start, int length, List<(int, int)> into)
    {
        var at = start;
        foreach (var match in regex.EnumerateMatches(text.AsSpan(start, length)))
        {
            if (match.Length == 0)
                continue;
            var matchStart = start + match.Index;
            if (matchStart > at)
                into.Add((at, matchStart - at));
            into.Add((matchStart, match.Length));
            at = matchStart + match.Length;
        }
        if (at < start + length)
            into.Add((at, start + length - at));
    }

    /// <summary>
    /// The text with each surrogate pair replaced by one character of the pair's category, and the map from each
    /// stand-in index (plus one past the end) to the real index; the text itself and null when it has no pairs.
    /// </summary>
    static (string View, int[]? ViewToText) StandInView(string text)
    {
        if (text.AsSpan().IndexOfAnyInRange('\uD800', '\uDFFF') < 0)
            return (text, null);

        var view = new char[text.Length];
        var viewToText = new int[text.Length + 1];
        var n = 0;
        for (var i = 0; i < text.Length; i++, n++)
        {
            viewToText[n] = i;
            if (char.IsHighSurrogate(text[i]) && i + 1 < text.Length && char.IsLowSurrogate(text[i + 1]))
            {
                var category = CharUnicodeInfo.GetUnicodeCategory(char.ConvertToUtf32(text[i], text[i + 1]));
                view[n] = CategoryStandIn[(int)category];
                i++;
            }
            else
                view[n] = text[i];
        }
        viewToText[n] = text.Length;
        return (new string(view, 0, n), viewToText);
    }

    // Non-ASCII, so no stand-in collides with the ASCII literals split patterns spell out ('s, \r, \n, space).
    static char[] FindCategoryStandIns()
    {
        var standIns = Enumerable.Repeat('\uFFFD', 30).ToArray();
        var found = new bool[30];
        for (int c = 0x80; c <= 0xFFFF; c++)
        {
            var category = (int)CharUnicodeInfo.GetUnicodeCategory((char)c);
            if (!found[category] && !char.IsSurrogate((char)c) && !char.IsWhiteSpace((char)c))
            {
                standIns[category] = (char)c;
                found[category] = true;
            }
        }
        return standIns;
    }
}
