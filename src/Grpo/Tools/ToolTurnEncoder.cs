using Grpo.Tokenization;
using Microsoft.Extensions.AI;
using ChatMessage = Grpo.Tokenization.ChatMessage;

namespace Grpo.Tools;

/// <summary>
/// The tokens that follow an assistant turn ending in tool calls: the tools' replies rendered as the chat template
/// renders tool turns, then the next assistant header, exactly TRL's <c>_get_tool_suffix_ids</c>. A minimal
/// conversation (a user turn, an assistant turn calling the first reply's tool) is formatted and tokenized without
/// and with the replies (and the generation prompt); the first is cut after its last end-of-sequence token (where
/// the model's own turn stopped, before the "\n" some templates add), and the suffix is what the second has beyond
/// it. The suffix is appended after the model's end-of-sequence token, so no re-tokenization of the model's text is
/// needed and the policy's tokens stay as sampled.
/// </summary>
internal sealed class ToolTurnEncoder(IToolChatFormatter format, ITokenizer tokenizer, IReadOnlySet<int> eosTokenIds)
{
    /// <summary>The token ids of <paramref name="replies"/> as tool turns, with the next assistant header.</summary>
    public int[] Encode(IReadOnlyList<ToolReply> replies)
    {
        ChatMessage[] dummy =
        [
            new("user", "dummy"),
            new("assistant", "") { ToolCalls = [new FunctionCallContent("call_0", replies[0].Call.Name, new Dictionary<string, object?>())] },
        ];
        var prefix = tokenizer.Encode(format.Format(dummy, [], addGenerationPrompt: false));
        var full = tokenizer.Encode(format.Format([.. dummy, .. replies.Select(r => ChatMessage.ToolResult(r.Result))], [], addGenerationPrompt: true));
        int lastEos = Array.FindLastIndex(prefix, eosTokenIds.Contains);
        if (lastEos >= 0) prefix = prefix[..(lastEos + 1)];
        if (full.Length < prefix.Length || !full.AsSpan(0, prefix.Length).SequenceEqual(prefix))
            throw new InvalidOperationException(
                "The chat format's tokens for a conversation with tool replies do not begin with its tokens without them; the tool turn cannot be appended to a rollout. Use a chat format whose template renders a tool turn after an assistant turn.");
        return full[prefix.Length..];
    }
}
