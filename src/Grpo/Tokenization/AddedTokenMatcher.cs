using System.Text.RegularExpressions;

namespace Grpo.Tokenization;

/// <summary>
/// Finds added tokens in raw text, leftmost first and longest first where two start at the same place
/// (<c>&lt;|im_start|&gt;</c> inside a prompt becomes one token, never the characters <c>&lt;</c>, <c>|</c>, ...),
/// as Hugging Face does before normalisation and BPE.
/// </summary>
sealed class AddedTokenMatcher
{
    readonly Regex? _regex;
    readonly AddedToken[] _tokens; // longest content first; alternative i of the regex is group i + 1

    public AddedTokenMatcher(IReadOnlyList<AddedToken> tokens)
    {
        _tokens = tokens.Where(t => t.Content.Length > 0).OrderByDescending(t => t.Content.Length).ToArray();
        if (_tokens.Length > 0)
            _regex = new Regex(string.Join("|", _tokens.Select(t => $"({Pattern(t)})")), RegexOptions.Compiled | RegexOptions.CultureInvariant);
    }

    static string Pattern(AddedToken token) =>
        (token.LStrip ? @"\s*" : "")
        + (token.SingleWord ? @"(?<!\w)" : "")
        + Regex.Escape(token.Content)
        + (token.SingleWord ? @"(?!\w)" : "")
        + (token.RStrip ? @"\s*" : "");

    /// <summary>
    /// Cuts <paramref name="text"/> into stretches of ordinary text (token null) and added tokens, in order,
    /// covering the whole text.
    /// </summary>
    public void Split(string text, List<(int Start, int Length, AddedToken? Token)> segments)
    {
        var at = 0;
        for (var match = _regex?.Match(text); match is { Success: true }; match = match.NextMatch())
        {
            if (match.Index > at)
                segments.Add((at, match.Index - at, null));
            var alternative = 0;
            while (!match.Groups[alternative + 1].Success)
                alternative++;
            segments.Add((match.Index, match.Length, _tokens[alternative]));
            at = match.Index + match.Length;
        }
        if (at < text.Length)
            segments.Add((at, text.Length - at, null));
    }
}
