using System.Text.RegularExpressions;

namespace Grpo.Rewards.Code;

/// <summary>
/// Finds the program in a completion: chat models wrap code in Markdown fences and often show more than one block
/// (a sketch, then the answer), so the last block marked as C# wins, then the last block of any language.
/// </summary>
public static partial class CodeExtractor
{
    /// <summary>Returns the program text, or null when <paramref name="mode"/> requires a fenced block and there is none.</summary>
    public static string? Extract(string completion, CodeExtraction mode)
    {
        ArgumentNullException.ThrowIfNull(completion);
        if (mode == CodeExtraction.Raw)
            return completion;

        string? lastCSharp = null, lastAny = null;
        foreach (Match block in FencedBlock().Matches(completion))
        {
            var body = block.Groups["body"].Value;
            lastAny = body;
            if (IsCSharpTag(block.Groups["tag"].Value))
                lastCSharp = body;
        }
        return lastCSharp ?? lastAny ?? (mode == CodeExtraction.RequireFenced ? null : completion);
    }

    static bool IsCSharpTag(string tag) =>
        tag.Equals("csharp", StringComparison.OrdinalIgnoreCase)
        || tag.Equals("cs", StringComparison.OrdinalIgnoreCase)
        || tag.Equals("c#", StringComparison.OrdinalIgnoreCase);

    // A fence opens at the start of a line with ``` and an optional language tag, and closes at a line of ```
    // or at the end of the text: a completion cut off by the length limit still yields its (likely broken) code.
    [GeneratedRegex(@"^[ \t]*```[ \t]*(?<tag>[^\s`]*)[^\n]*\n(?<body>.*?)(?:^[ \t]*```[ \t]*$|\z)", RegexOptions.Singleline | RegexOptions.Multiline)]
    private static partial Regex FencedBlock();
}
