using Grpo.Chat;
using Grpo.Tools;

namespace Grpo.Tests.Chat;

public class ReplyTextTests
{
    // Feeds the chunks, returns what each released and the final remaining content.
    static (string[] Released, string Remaining, ReplyText Text) Feed(ReplyText text, params string[] chunks)
    {
        var released = chunks.Select(text.Add).ToArray();
        return (released, text.Finish().Remaining, text);
    }

    [Fact]
    public void QwenContentBeforeACallStreamsWithoutTheWhitespaceOrTagThatStartTheCall()
    {
        var text = new ReplyText([], ToolCallParser.Qwen);
        var (released, remaining, _) = Feed(text, "Let me ", "check.", " <tool", "_call>\n{\"name\": \"f\", \"arguments\": {}}\n</tool_call>");

        Assert.Equal(["Let me", " check.", "", ""], released);
        Assert.Equal("", remaining);
        Assert.Equal("f", Assert.Single(text.Finish().Parsed!.Calls).Name);
    }

    [Fact]
    public void QwenTextThatOnlyLooksLikeACallIsReleasedOnceItCannotBeOne()
    {
        var (released, remaining, _) = Feed(new ReplyText([], ToolCallParser.Qwen), "a <", "b", " ");
        Assert.Equal(["a", " <b", ""], released);
        Assert.Equal(" ", remaining);
    }

    [Fact]
    public void Llama3HoldsAReplyThatStartsAsACallAndStreamsOneThatDoesNot()
    {
        var call = new ReplyText([], ToolCallParser.Llama3);
        var (released, remaining, _) = Feed(call, " {\"name\"", ": \"f\", \"parameters\": {\"x\": 1}}");
        Assert.Equal(["", ""], released);
        Assert.Equal("", remaining);
        Assert.Equal("f", Assert.Single(call.Finish().Parsed!.Calls).Name);

        (released, remaining, _) = Feed(new ReplyText([], ToolCallParser.Llama3), " ", "Hi", " there");
        Assert.Equal(["", " Hi", " there"], released);
        Assert.Equal("", remaining);
    }

    [Fact]
    public void AStopSequenceAcrossChunksEndsTheReplyBeforeIt()
    {
        var (released, remaining, text) = Feed(new ReplyText(["END"], null), "abE", "N", "Dxyz", "more");
        Assert.Equal(["ab", "", "", ""], released);
        Assert.Equal("", remaining);
        Assert.True(text.Stopped);

        (released, remaining, text) = Feed(new ReplyText(["END"], null), "abE", "Fg");
        Assert.Equal(["ab", "EFg"], released);
        Assert.False(text.Stopped);
    }

    [Fact]
    public void TheEarliestOfSeveralStopSequencesWins()
    {
        var (released, remaining, _) = Feed(new ReplyText(["yz", "xy"], null), "axyz");   // "xy" at 1 comes before "yz" at 2
        Assert.Equal([""], released);
        Assert.Equal("a", remaining);
    }
}
