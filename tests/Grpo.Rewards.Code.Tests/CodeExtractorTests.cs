namespace Grpo.Rewards.Code.Tests;

public sealed class CodeExtractorTests
{
    [Fact]
    public void Last_csharp_block_wins_over_later_blocks_in_other_languages()
    {
        var completion = "```cs\nint a = 1;\n```\ntext\n```csharp\nint b = 2;\n```\n```python\nc = 3\n```\n";
        Assert.Equal("int b = 2;\n", CodeExtractor.Extract(completion, CodeExtraction.PreferFenced));
    }

    [Theory]
    [InlineData("```C#\nint x;\n```", "int x;\n")]
    [InlineData("```cs title=\"a.cs\"\nint x;\n```", "int x;\n")]
    [InlineData("Answer:\n```\nint y;\n```\nand\n```text\nnot code\n```", "not code\n")] // no C# tag: the last block
    [InlineData("```csharp\nint cut = ", "int cut = ")] // cut off by the length limit
    [InlineData("  return n * 2; }", "  return n * 2; }")] // no fence: the raw continuation
    public void Prefer_fenced_takes_the_block_or_else_the_text(string completion, string expected)
    {
        Assert.Equal(expected, CodeExtractor.Extract(completion, CodeExtraction.PreferFenced));
    }

    [Fact]
    public void Require_fenced_gives_null_without_a_block_and_raw_keeps_everything()
    {
        Assert.Null(CodeExtractor.Extract("return 1; }", CodeExtraction.RequireFenced));
        var fenced = "```csharp\nint x;\n```";
        Assert.Equal(fenced, CodeExtractor.Extract(fenced, CodeExtraction.Raw));
    }
}
