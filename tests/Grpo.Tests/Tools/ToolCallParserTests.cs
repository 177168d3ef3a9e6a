using System.Diagnostics;
using System.Text;
using System.Text.Json;
using Grpo.Tools;
using Microsoft.Extensions.AI;

namespace Grpo.Tests.Tools;

/// <summary>Tool calls read from hand-written completions, hostile ones included: the parsers never throw on model output.</summary>
public sealed class ToolCallParserTests
{
    static string Argument(FunctionCallContent call, string name) => Assert.IsType<JsonElement>(call.Arguments![name]).GetRawText();

    [Fact]
    public void QwenReadsEachCallAndTheTextBeforeThem()
    {
        var parsed = ToolCallParser.Qwen.Parse(
            "Let me check.\n<tool_call>\n{\"name\": \"get_weather\", \"arguments\": {\"city\": \"Zürich 🌍\", \"days\": [1, 2]}}\n</tool_call>\n"
            + "<tool_call>\n{\"name\": \"add\", \"arguments\": {\"a\": 2.5, \"b\": {\"nested\": true}}}\n</tool_call>");
        Assert.Equal("Let me check.", parsed.Content);
        Assert.False(parsed.HasUnclosedCall);
        Assert.Equal(["call_0", "call_1"], parsed.Calls.Select(c => c.CallId));
        Assert.Equal(["get_weather", "add"], parsed.Calls.Select(c => c.Name));
        Assert.All(parsed.Calls, call => Assert.Null(call.Exception));
        Assert.Equal("\"Zürich 🌍\"", Argument(parsed.Calls[0], "city"));
        Assert.Equal("[1, 2]", Argument(parsed.Calls[0], "days"));
        Assert.Equal("{\"nested\": true}", Argument(parsed.Calls[1], "b"));
    }

    [Fact]
    public void QwenTextWithoutCallsIsAllContent()
    {
        var parsed = ToolCallParser.Qwen.Parse("<think>\nNo tool needed.\n</think>\n\n4 </tool_call>");
        Assert.Equal("<think>\nNo tool needed.\n</think>\n\n4 </tool_call>", parsed.Content);
        Assert.Empty(parsed.Calls);
        Assert.False(parsed.HasUnclosedCall);
    }

    [Fact]
    public void QwenBracesAndClosingTagsInsideStringsBelongToTheArgument()
    {
        var parsed = ToolCallParser.Qwen.Parse("<tool_call>{\"name\": \"echo\", \"arguments\": {\"text\": \"} </tool_call> {\\\"\"}}</tool_call>");
        var call = Assert.Single(parsed.Calls);
        Assert.Null(call.Exception);
        Assert.Equal("} </tool_call> {\"", ((JsonElement)call.Arguments!["text"]!).GetString());
    }

    [Fact]
    public void QwenCallThatNeverClosesIsReportedWhereItStarts()
    {
        const string complete = "<tool_call>{\"name\": \"a\", \"arguments\": {}}</tool_call>";
        const string cut = "<tool_call>\n{\"name\": \"add\", \"arguments\": {\"a\": 1";
        var parsed = ToolCallParser.Qwen.Parse("Sure. " + complete + "\n" + cut);
        Assert.Equal("Sure.", parsed.Content);
        Assert.Equal("a", Assert.Single(parsed.Calls).Name);
        Assert.Equal(("Sure. " + complete + "\n").Length, parsed.UnclosedCallAt);
        Assert.True(ToolCallParser.Qwen.Parse(cut).HasUnclosedCall);
    }

    [Fact]
    public void QwenMalformedCallsAreRecordedAndLaterCallsStillRead()
    {
        var parsed = ToolCallParser.Qwen.Parse(
            "<tool_call>{\"name\": \"a\", \"arguments\": {\"x\": 1,}}</tool_call>"
            + "<tool_call>[1, 2]</tool_call>"
            + "<tool_call>{\"arguments\": {}}</tool_call>"
            + "<tool_call>{\"name\": \"b\", \"arguments\": \"x=1\"}</tool_call>"
            + "<tool_call>{\"name\": \"c\"}</tool_call>");
        Assert.Equal(5, parsed.Calls.Count);
        Assert.Contains("not valid JSON", parsed.Calls[0].Exception!.Message);
        Assert.Contains("not an object", parsed.Calls[1].Exception!.Message);
        Assert.Contains("no \"name\"", parsed.Calls[2].Exception!.Message);
        Assert.Equal("b", parsed.Calls[3].Name);
        Assert.Contains("must be an object", parsed.Calls[3].Exception!.Message);
        Assert.Null(parsed.Calls[4].Exception);
        Assert.Empty(parsed.Calls[4].Arguments!);
        Assert.Equal(4, parsed.Malformed.Count());
        Assert.All(parsed.Malformed, call => Assert.IsType<InvalidDataException>(call.Exception));
    }

    [Fact]
    public void QwenStringThatNeverEndsIsCutAtTheNextClosingTag()
    {
        var parsed = ToolCallParser.Qwen.Parse(
            "<tool_call>{\"name\": \"x\", \"arguments\": {\"s\": \"abc}}</tool_call> then <tool_call>{\"name\": \"y\", \"arguments\": {}}</tool_call>");
        Assert.Equal(2, parsed.Calls.Count);
        Assert.NotNull(parsed.Calls[0].Exception);
        Assert.Equal("y", parsed.Calls[1].Name);
        Assert.Null(parsed.Calls[1].Exception);
    }

    [Fact]
    public void InvalidUtf16AndDeepNestingAreRecordedErrors()
    {
        // A lone surrogate as text, as an escape in a name and in an argument, and JSON nested past the reader's depth.
        var parsed = ToolCallParser.Qwen.Parse(
            "<tool_call>{\"name\": \"x\uD800\", \"arguments\": {}}</tool_call>"
            + "<tool_call>{\"name\": \"\\uDC00\", \"arguments\": {}}</tool_call>"
            + "<tool_call>{\"name\": \"x\", \"arguments\": {\"s\": [\"\\uD800\"]}}</tool_call>"
            + "<tool_call>{\"name\": \"x\", \"arguments\": {\"deep\": " + new string('[', 5000) + new string(']', 5000) + "}}</tool_call>");
        Assert.Equal(4, parsed.Calls.Count);
        Assert.All(parsed.Calls, call => Assert.IsType<InvalidDataException>(call.Exception));
    }

    [Fact]
    public void HugeCompletionsAreReadInLinearTime()
    {
        var many = new StringBuilder();
        for (var i = 0; i < 20_000; i++)
            many.Append("<tool_call>{\"name\": \"f\", \"arguments\": {\"i\": ").Append(i).Append("}}</tool_call>");
        // Every closing tag sits inside a string that opens before it, so a string-aware scan from any call runs to
        // the end of the text: rescanning per call would take 1,000 scans of up to 20 million characters.
        var hostile = string.Concat(Enumerable.Repeat("<tool_call>\"" + new string('x', 20_000) + "</tool_call>\"", 1000));
        var watch = Stopwatch.StartNew();
        var parsed = ToolCallParser.Qwen.Parse(many.ToString());
        var hostileParsed = ToolCallParser.Qwen.Parse(hostile);
        var unclosed = ToolCallParser.Qwen.Parse("<tool_call>" + new string('{', 1_000_000));
        var llama = ToolCallParser.Llama3.Parse("{\"name\": \"f\", \"parameters\": {\"s\": \"" + new string('}', 1_000_000));
        watch.Stop();

        Assert.Equal(20_000, parsed.Calls.Count);
        Assert.Equal("19999", Argument(parsed.Calls[^1], "i"));
        Assert.Equal(1000, hostileParsed.Calls.Count);
        Assert.All(hostileParsed.Calls, call => Assert.NotNull(call.Exception));
        Assert.True(unclosed.HasUnclosedCall);
        Assert.Equal(0, llama.UnclosedCallAt);
        Assert.True(watch.Elapsed < TimeSpan.FromSeconds(8), $"parsing took {watch.Elapsed}");
    }

    [Fact]
    public void Llama3ReadsItsJsonCallsWithOrWithoutThePythonTag()
    {
        var parsed = ToolCallParser.Llama3.Parse("{\"name\": \"get_weather\", \"parameters\": {\"city\": \"Paris\", \"note\": \"{not a brace}\"}}");
        var call = Assert.Single(parsed.Calls);
        Assert.Equal(("call_0", "get_weather"), (call.CallId, call.Name));
        Assert.Equal("\"Paris\"", Argument(call, "city"));
        Assert.Equal("", parsed.Content);

        var tagged = ToolCallParser.Llama3.Parse(" <|python_tag|>{\"name\": \"a\", \"parameters\": {}}; {\"name\": \"b\", \"parameters\": {\"x\": 1}}\n trailing words");
        Assert.Equal(["a", "b"], tagged.Calls.Select(c => c.Name));
        Assert.Equal("trailing words", tagged.Content);
    }

    [Fact]
    public void Llama3PlainRepliesAreContentAndBrokenCallsAreReported()
    {
        var plain = ToolCallParser.Llama3.Parse("It is 21.5 °C in Paris. {\"name\": \"x\"}");
        Assert.Equal("It is 21.5 °C in Paris. {\"name\": \"x\"}", plain.Content);
        Assert.Empty(plain.Calls);

        var malformed = ToolCallParser.Llama3.Parse("{\"name\": \"x\", \"parameters\": {\"a\": 1,}}");
        Assert.Contains("not valid JSON", Assert.Single(malformed.Calls).Exception!.Message);
        Assert.Contains("\"parameters\"", Assert.Single(ToolCallParser.Llama3.Parse("{\"function\": \"x\"}").Calls).Exception!.Message);

        var cut = ToolCallParser.Llama3.Parse("{\"name\": \"x\", \"parameters\": {\"a\": \"}\"");
        Assert.Empty(cut.Calls);
        Assert.Equal(0, cut.UnclosedCallAt);
    }
}
