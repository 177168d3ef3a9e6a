namespace Grpo.Tokenization;

/// <summary>One turn of a conversation: who speaks (<c>system</c>, <c>user</c>, <c>assistant</c>) and what they say.</summary>
/// <param name="Role">The speaker's role, written into the prompt as is.</param>
/// <param name="Content">The message text.</param>
public sealed record ChatMessage(string Role, string Content);
