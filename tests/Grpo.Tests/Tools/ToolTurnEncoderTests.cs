using System.Text.Json;
using Grpo.Tokenization;
using Grpo.Tools;
using Microsoft.Extensions.AI;

namespace Grpo.Tests.Tools;

/// <summary>The tokens appended after a turn's end token for tool replies, against the templates' text written by hand.</summary>
public class ToolTurnEncoderTests
{
    static ToolReply Reply(string name, object? result) => new(new FunctionCallContent("call_0", name), result, Failed: false);

    [Fact]
    public void QwenPutsEveryReplyOfATurnInOneUserTurnAfterTheEndToken()
    {
        var tokenizer = SpecialByteTokenizer.ChatMl;
        var encoder = new ToolTurnEncoder(new ChatMlFormatter(), tokenizer, new HashSet<int> { SpecialByteTokenizer.ImEnd });

        var suffix = encoder.Encode([Reply("add", JsonSerializer.SerializeToElement(5)), Reply("get", new Dictionary<string, object?> { ["error"] = "no" })]);

        // Qwen2.5's template: "<|im_end|>\n" ends the assistant turn; the model's turn stopped at "<|im_end|>".
        Assert.Equal(tokenizer.Encode("\n<|im_start|>user\n<tool_response>\n5\n</tool_response>\n<tool_response>\n{\"error\": \"no\"}\n</tool_response><|im_end|>\n<|im_start|>assistant\n"), suffix);
    }

    [Fact]
    public void Llama31WritesAnIpythonTurnHoldingTheResultAsAJsonString()
    {
        var tokenizer = new SpecialByteTokenizer("<|eot_id|>", "<|begin_of_text|>", "<|start_header_id|>", "<|end_header_id|>");
        var format = new Llama3Formatter("Cutting Knowledge Date: December 2023\nToday Date: 26 Jul 2024\n\n");
        var encoder = new ToolTurnEncoder(format, tokenizer, new HashSet<int> { 256 });

        var suffix = encoder.Encode([Reply("add", JsonSerializer.SerializeToElement(5))]);

        Assert.Equal(tokenizer.Encode("<|start_header_id|>ipython<|end_header_id|>\n\n\"5\"<|eot_id|><|start_header_id|>assistant<|end_header_id|>\n\n"), suffix);
    }
}
