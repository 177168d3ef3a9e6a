namespace Grpo.Tokenization;

/// <summary>String operations of chat templates with Python's semantics, which .NET's differ from at the edges.</summary>
internal static class JinjaText
{
    // Python's str.isspace() characters: .NET's char.IsWhiteSpace lacks U+001C to U+001F.
    static readonly char[] PythonWhitespace =
    [
        '\t', '\n', '\v', '\f', '\r', '\x1c', '\x1d', '\x1e', '\x1f', ' ', '\x85', '\xa0', '\u1680',
        '\u2000', '\u2001', '\u2002', '\u2003', '\u2004', '\u2005', '\u2006', '\u2007', '\u2008', '\u2009', '\u200a',
        '\u2028', '\u2029', '\u202f', '\u205f', '\u3000',
    ];

    /// <summary>Jinja's <c>trim</c> filter: Python's <c>str.strip()</c>.</summary>
    public static string Trim(string text) => text.Trim(PythonWhitespace);
}
