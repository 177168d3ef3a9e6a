using System.Text;

namespace Grpo.Rewards.Math;

/// <summary>
/// Finds the final answer in a completion or a gold solution. Sources are tried rank by rank
/// (<see cref="MathVerifierOptions.ExtractionOrder"/>); within a rank the one found latest in the text wins, so
/// "\boxed{200} ... The final answer is $10,455$" answers 10,455 and a correction after an earlier box counts.
/// Every scan is linear in the text, so a 100,000-character completion costs well under a millisecond.
/// </summary>
public static class AnswerExtractor
{
    const int MaxGapChars = 80;
    const int MaxPhraseSpanChars = 400;
    const int MaxWholeChars = 300;
    const int MaxJoined = 6;

    /// <summary>Candidate answers in order of preference (best first).</summary>
    public static IEnumerable<ExtractedAnswer> Candidates(string text, MathVerifierOptions? options = null)
    {
        options ??= MathVerifierOptions.Default;
        if (string.IsNullOrWhiteSpace(text)) yield break;
        var scan = new Scan(text);
        foreach (var rank in options.ExtractionOrder)
        {
            var found = new List<ExtractedAnswer>();
            foreach (var source in rank) found.AddRange(Find(source, scan, options));
            foreach (var candidate in found.OrderByDescending(c => c.Position)) yield return candidate;
        }
    }

    /// <summary>The preferred answer in the text, or null when there is none.</summary>
    public static ExtractedAnswer? Extract(string text, MathVerifierOptions? options = null) => Candidates(text, options).FirstOrDefault();

    // The text plus its math segments, found once and shared by the sources.
    sealed class Scan(string text)
    {
        public string Text { get; } = text;
        List<Segment>? _segments;
        public List<Segment> Segments => _segments ??= FindSegments(Text, 0, Text.Length);
    }

    readonly record struct Segment(int Start, int End, int InnerStart, int InnerEnd);

    static IEnumerable<ExtractedAnswer> Find(AnswerSource source, Scan scan, MathVerifierOptions options) => source switch
    {
        AnswerSource.Boxed => FromBoxes(scan.Text, 0, scan.Text.Length).Select(b => new ExtractedAnswer(b.Text, source, b.Position, true)),
        AnswerSource.AnswerTag => FromAnswerTag(scan.Text, options),
        AnswerSource.Gsm8kMarker => FromGsm8kMarker(scan.Text),
        AnswerSource.AnswerPhrase => FromAnswerPhrases(scan.Text),
        AnswerSource.WholeMath => FromWholeMath(scan),
        AnswerSource.LastMath => FromMathSegments(scan),
        AnswerSource.LastNumber => FromNumbers(scan),
        AnswerSource.WholeText => scan.Text.Trim() is { Length: > 0 and <= MaxWholeChars } t
            ? [new ExtractedAnswer(t, source, 0, t.Contains('\\'))] : [],
        _ => [],
    };

    // ---- \boxed ---------------------------------------------------------------------------------------------

    readonly record struct Box(int Start, int End, string Content);

    /// <summary>Box groups in text[from..to), latest first; Text joins a group's contents with ", ".</summary>
    static IEnumerable<(string Text, int Position)> FromBoxes(string text, int from, int to)
    {
        var boxes = FindBoxes(text, from, to);
        int k = boxes.Count - 1;
        while (k >= 0)
        {
            int first = k;
            while (first > 0 && k - first + 1 < MaxJoined && IsConnector(text[boxes[first - 1].End..boxes[first].Start], boxGap: true)) first--;
            var joined = string.Join(", ", boxes.Skip(first).Take(k - first + 1).Select(b => b.Content));
            if (!string.IsNullOrWhiteSpace(joined)) yield return (joined, boxes[k].Start);
            k = first - 1;
        }
    }

    static List<Box> FindBoxes(string text, int from, int to)
    {
        var boxes = new List<Box>();
        int i = from;
        while (i < to)
        {
            int boxed = text.IndexOf("\\boxed", i, to - i, StringComparison.Ordinal);
            int fbox = text.IndexOf("\\fbox", i, to - i, StringComparison.Ordinal);
            int k = boxed < 0 ? fbox : fbox < 0 ? boxed : System.Math.Min(boxed, fbox);
            if (k < 0) break;
            int after = k + (k == boxed ? 6 : 5);
            while (after < to && text[after] == ' ') after++;
            if (after < to && text[after] == '{')
            {
                int close = MatchingBrace(text, after, to);
                // An unclosed box runs to the end of the text (\boxed{28 pct without its brace).
                int contentEnd = close < 0 ? to : close;
                boxes.Add(new Box(k, close < 0 ? to : close + 1, WithoutDollars(text[(after + 1)..contentEnd])));
                i = close < 0 ? to : close + 1;
            }
            else
            {
                int end = after;
                while (end < to && !char.IsWhiteSpace(text[end]) && text[end] is not ('$' or '.' or ',')) end++;
                if (end > after) boxes.Add(new Box(k, end, text[after..end]));
                i = System.Math.Max(end, k + 1);
            }
        }
        return boxes;
    }

    // \boxed{12 $ and $13} and \boxed{\$16.20}: dollar signs inside a box are delimiters or currency, not maths.
    static string WithoutDollars(string content) => content.Replace("\\$", "").Replace("$", "");

    static int MatchingBrace(string text, int open, int to)
    {
        int depth = 0;
        for (int i = open; i < to; i++)
        {
            char c = text[i];
            if (c == '\\') { i++; continue; }
            if (c == '{') depth++;
            else if (c == '}' && --depth == 0) return i;
        }
        return -1;
    }

    /// <summary>True when the text between two answers only joins them: commas, spacing, "and"/"or", or a short
    /// phrase with "and" in it ("papers and", "\text{ for part (a) and }"). A gap with digits or with other words
    /// only ("no no no") separates them.</summary>
    static bool IsConnector(string gap, bool boxGap)
    {
        if (gap.Length > MaxGapChars) return false;
        if (!boxGap)
        {
            var t = gap.Trim().ToLowerInvariant();
            return t is "" or "," or ";" or "and" or "or" or ", and" or ", or" or ",and" or ",or";
        }
        var words = new List<string>();
        for (int i = 0; i < gap.Length; i++)
        {
            char c = gap[i];
            if (c == '\\')
            {
                // A command in the gap (\quad, \text, \(, \\): not a word of the sentence.
                int j = i + 1;
                while (j < gap.Length && char.IsAsciiLetter(gap[j])) j++;
                i = System.Math.Max(i, j - 1);
                continue;
            }
            if (c == '_')
            {
                // y_2 = ...: a subscript is part of a name, its digits are not a number in the gap.
                int j = i + 1;
                if (j < gap.Length && gap[j] == '{') { int close = gap.IndexOf('}', j); i = close < 0 ? gap.Length : close; }
                else i = j;
                continue;
            }
            if (char.IsDigit(c)) return false;
            if (char.IsLetter(c))
            {
                int j = i;
                while (j < gap.Length && char.IsLetter(gap[j])) j++;
                words.Add(gap[i..j].ToLowerInvariant());
                i = j - 1;
            }
        }
        return words.Count == 0 || words.Contains("and") || words.Contains("or");
    }

    // ---- <answer>, ####, "the answer is" ----------------------------------------------------------------------

    static IEnumerable<ExtractedAnswer> FromAnswerTag(string text, MathVerifierOptions options)
    {
        int open = text.LastIndexOf("<answer>", StringComparison.OrdinalIgnoreCase);
        if (open < 0) yield break;
        int start = open + "<answer>".Length;
        int close = text.IndexOf("</answer>", start, StringComparison.OrdinalIgnoreCase);
        var inner = text[start..(close < 0 ? text.Length : close)];
        var ranks = options.ExtractionOrder.Select(r => r.Where(s => s != AnswerSource.AnswerTag).ToArray()).Where(r => r.Length > 0).ToArray();
        if (ranks.Length > 0 && Candidates(inner, options with { ExtractionOrder = ranks }).FirstOrDefault() is { } found)
            yield return found with { Source = AnswerSource.AnswerTag, Position = open };
    }

    static IEnumerable<ExtractedAnswer> FromGsm8kMarker(string text)
    {
        int marker = text.LastIndexOf("####", StringComparison.Ordinal);
        if (marker < 0) yield break;
        int start = marker + 4;
        int end = text.IndexOf('\n', start);
        var line = text[start..(end < 0 ? text.Length : end)].Trim().TrimEnd('.');
        if (line.Length == 0) yield break;
        yield return Normalized(line, AnswerSource.Gsm8kMarker, marker);
    }

    // A plain line that is one number in prose form is normalized ("1,234" -> "1234"); anything else is kept.
    static ExtractedAnswer Normalized(string answer, AnswerSource source, int position)
    {
        bool latex = answer.Contains('\\') || answer.Contains('$');
        if (!latex && PlainNumber.FindAll(answer) is [var only] && only.Start == 0 && only.End == answer.Length)
            return new ExtractedAnswer(only.Text, source, position, false);
        return new ExtractedAnswer(latex ? WithoutDollars(answer) : answer, source, position, latex);
    }

    static IEnumerable<ExtractedAnswer> FromAnswerPhrases(string text)
    {
        int i = 0;
        while ((i = text.IndexOf("answer", i, StringComparison.OrdinalIgnoreCase)) >= 0)
        {
            int k = i;
            i += 6;
            if ((k > 0 && char.IsLetter(text[k - 1])) || (i < text.Length && char.IsLetter(text[i]))) continue;
            int end = SentenceEnd(text, i);
            int start = PhraseStart(text, i, end);
            if (start < 0) continue;
            if (FromSpan(text, start, end) is { } answer) yield return answer with { Position = k };
        }
    }

    // Where the answer starts after "answer": after a colon ("Answer: 5"), moving past a following "is" in the same
    // sentence ("Final Answer: The largest $n$ is 34"); or after "is" when the words between are few and unbroken
    // ("the answer to part (a) is 5", but not "to answer this, note that x is 3").
    static int PhraseStart(string text, int after, int end)
    {
        int c = after;
        while (c < end && text[c] is ' ' or '*') c++;
        if (c < end && text[c] == ':') return AfterIs(text, c + 1, System.Math.Min(end, c + 100)) ?? c + 1;
        int limit = System.Math.Min(end, after + 40);
        int comma = text.IndexOf(',', after, limit - after);
        return AfterIs(text, after, comma < 0 ? limit : comma) ?? -1;
    }

    // Just after the first word "is" (and any colon) in text[from..to), or null.
    static int? AfterIs(string text, int from, int to)
    {
        for (int j = from; j + 2 <= to; j++)
            if (text[j] == 'i' && text[j + 1] == 's' && (j == 0 || !char.IsLetter(text[j - 1])) && (j + 2 >= text.Length || !char.IsLetter(text[j + 2])))
            {
                int s = j + 2;
                while (s < text.Length && text[s] is ' ' or ':') s++;
                return s;
            }
        return null;
    }

    // The end of the sentence that starts at i: a full stop followed by a space or the end (not a decimal point,
    // not inside $...$), a blank line, "I hope", or a length cap.
    static int SentenceEnd(string text, int i)
    {
        int limit = System.Math.Min(text.Length, i + MaxPhraseSpanChars);
        bool inMath = false;
        for (int j = i; j < limit; j++)
        {
            char c = text[j];
            if (c == '\\' && j + 1 < limit) { j++; continue; }
            if (c == '$') inMath = !inMath;
            if (inMath) continue;
            if (c == '.' && (j + 1 == text.Length || char.IsWhiteSpace(text[j + 1]))) return j;
            if (c == '\n' && j + 1 < limit && text[j + 1] == '\n') return j;
            if (c == 'I' && string.CompareOrdinal(text, j, "I hope", 0, 6) == 0) return j;
        }
        return limit;
    }

    // The answer inside a phrase span: a box, else the first maths (with what is joined to it), else the first
    // number, else a short word or letter ("(C)").
    static ExtractedAnswer? FromSpan(string text, int start, int end)
    {
        if (FromBoxes(text, start, end).FirstOrDefault() is { Text: not null } box)
            return new ExtractedAnswer(box.Text, AnswerSource.AnswerPhrase, start, true);
        var segments = FindSegments(text, start, end);
        if (segments.Count > 0)
            return new ExtractedAnswer(JoinForward(text, segments, 0), AnswerSource.AnswerPhrase, start, true);
        if (PlainNumber.FindAll(text, start, end) is [var first, ..])
            return new ExtractedAnswer(first.Text, AnswerSource.AnswerPhrase, start, false);
        var rest = text[start..end].Trim().Trim('*', '"', '.').Trim();
        return rest.Length is > 0 and <= 30 && !rest.Contains(' ') ? Normalized(rest, AnswerSource.AnswerPhrase, start) : null;
    }

    // ---- whole text, math segments, numbers ---------------------------------------------------------------------

    static IEnumerable<ExtractedAnswer> FromWholeMath(Scan scan)
    {
        var text = scan.Text;
        int s = 0, e = text.Length;
        while (s < e && char.IsWhiteSpace(text[s])) s++;
        while (e > s && (char.IsWhiteSpace(text[e - 1]) || text[e - 1] == '.')) e--;
        if (s == e) yield break;
        var segments = scan.Segments;
        if (segments.Count == 1 && segments[0].Start == s && segments[0].End == e)
        {
            var seg = segments[0];
            yield return new ExtractedAnswer(text[seg.InnerStart..seg.InnerEnd], AnswerSource.WholeMath, 0, true);
            yield break;
        }
        var whole = text[s..e];
        if (segments.Count == 0 && whole.Length <= MaxWholeChars && !whole.Contains('$') && LooksLikeMaths(whole))
            yield return Normalized(whole, AnswerSource.WholeMath, 0);
    }

    // Maths, or a one-word answer: "x + 1", "28 percent", "12 cm", "Evelyn". Not prose with numbers in it
    // ("Total: 12", "the number is 10"), whose answer is its last number.
    static bool LooksLikeMaths(string text)
    {
        int proseWords = 0;
        bool digits = false;
        for (int i = 0; i < text.Length; i++)
        {
            char c = text[i];
            if (char.IsDigit(c)) digits = true;
            if (!char.IsLetter(c)) continue;
            int j = i;
            while (j < text.Length && char.IsLetter(text[j])) j++;
            var word = text[i..j].ToLowerInvariant();
            bool command = i > 0 && text[i - 1] == '\\';
            if (!command && word.Length >= 3 && word is not ("and" or "sqrt" or "sin" or "cos" or "tan" or "log" or "exp" or "percent" or "pct" or "percentage"))
                proseWords++;
            i = j - 1;
        }
        return proseWords == 0 || (proseWords == 1 && !digits);
    }

    static IEnumerable<ExtractedAnswer> FromMathSegments(Scan scan)
    {
        var text = scan.Text;
        var segments = scan.Segments;
        int k = segments.Count - 1;
        while (k >= 0)
        {
            int first = k;
            while (first > 0 && k - first + 1 < MaxJoined && IsConnector(text[segments[first - 1].End..segments[first].Start], boxGap: false)) first--;
            var parts = segments.Skip(first).Take(k - first + 1).Select(sg => text[sg.InnerStart..sg.InnerEnd]).Where(p => !string.IsNullOrWhiteSpace(p)).ToList();
            if (parts.Count > 0)
            {
                var joined = string.Join(", ", parts);
                // $28$ % and $28$ percent: the sign after the maths belongs to it.
                if (PercentAfter(text, segments[k].End)) joined = $"({joined})\\%";
                yield return new ExtractedAnswer(joined, AnswerSource.LastMath, segments[k].End, true);
            }
            k = first - 1;
        }
    }

    static bool PercentAfter(string text, int i)
    {
        while (i < text.Length && text[i] == ' ') i++;
        return i < text.Length && (text[i] == '%' || string.Compare(text, i, "percent", 0, 7, StringComparison.OrdinalIgnoreCase) == 0
                                   || string.Compare(text, i, "pct", 0, 3, StringComparison.OrdinalIgnoreCase) == 0);
    }

    static string JoinForward(string text, List<Segment> segments, int first)
    {
        int last = first;
        while (last + 1 < segments.Count && last - first + 1 < MaxJoined && IsConnector(text[segments[last].End..segments[last + 1].Start], boxGap: false)) last++;
        return string.Join(", ", segments.Skip(first).Take(last - first + 1).Select(sg => text[sg.InnerStart..sg.InnerEnd]));
    }

    static IEnumerable<ExtractedAnswer> FromNumbers(Scan scan)
    {
        // Numbers outside maths segments: those inside are the segments' business (a failed formula must not
        // supply a stray number from inside it).
        var text = scan.Text;
        var numbers = new List<PlainNumber>();
        int from = 0;
        foreach (var seg in scan.Segments)
        {
            numbers.AddRange(PlainNumber.FindAll(text, from, seg.Start));
            from = seg.End;
        }
        numbers.AddRange(PlainNumber.FindAll(text, from, text.Length));
        for (int k = numbers.Count - 1; k >= 0; k--)
            yield return new ExtractedAnswer(numbers[k].Text, AnswerSource.LastNumber, numbers[k].End, false);
    }

    /// <summary>Math segments in text[from..to): $$...$$ and \[...\] (may span lines), $...$ and \(...\) (one line),
    /// in order. A $ right after a digit is a price, not an opening.</summary>
    static List<Segment> FindSegments(string text, int from, int to)
    {
        var segments = new List<Segment>();
        bool noDisplayClose = false, noBracketClose = false, noParenClose = false;
        int i = from;
        while (i < to)
        {
            char c = text[i];
            if (c == '\\' && i + 1 < to)
            {
                char d = text[i + 1];
                if (d == '[' && !noBracketClose)
                {
                    int close = text.IndexOf("\\]", i + 2, to - i - 2, StringComparison.Ordinal);
                    if (close < 0) noBracketClose = true;
                    else { segments.Add(new Segment(i, close + 2, i + 2, close)); i = close + 2; continue; }
                }
                else if (d == '(' && !noParenClose)
                {
                    int close = text.IndexOf("\\)", i + 2, to - i - 2, StringComparison.Ordinal);
                    if (close < 0) noParenClose = true;
                    else if (text.IndexOf('\n', i + 2, close - i - 2) < 0) { segments.Add(new Segment(i, close + 2, i + 2, close)); i = close + 2; continue; }
                }
                i += 2;
                continue;
            }
            if (c == '$')
            {
                if (i + 1 < to && text[i + 1] == '$')
                {
                    int close = noDisplayClose ? -1 : ClosingDollars(text, i + 2, to);
                    if (close < 0) { noDisplayClose = true; i += 2; continue; }
                    segments.Add(new Segment(i, close + 2, i + 2, close));
                    i = close + 2;
                    continue;
                }
                if (i == from || !char.IsAsciiDigit(text[i - 1]))
                {
                    int close = ClosingDollar(text, i + 1, to);
                    if (close > i + 1) { segments.Add(new Segment(i, close + 1, i + 1, close)); i = close + 1; continue; }
                }
            }
            i++;
        }
        return segments;
    }

    static int ClosingDollars(string text, int i, int to)
    {
        for (int j = i; j + 1 < to; j++)
        {
            if (text[j] == '\\') { j++; continue; }
            if (text[j] == '$' && text[j + 1] == '$') return j;
        }
        return -1;
    }

    // The closing $ of an inline segment on the same line; \$ inside is an escaped dollar.
    static int ClosingDollar(string text, int i, int to)
    {
        for (int j = i; j < to; j++)
        {
            char c = text[j];
            if (c == '\\') { j++; continue; }
            if (c == '\n') return -1;
            if (c == '$') return j;
        }
        return -1;
    }
}
