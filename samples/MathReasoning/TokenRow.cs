using Grpo.Tokenization;

namespace Grpo.Samples.MathReasoning;

/// <summary>
/// One pre-training sequence: a conversation's token ids and, per token, whether the model is trained to predict it.
/// Only the assistant's own tokens are trained (its text and the end-of-turn token that stops it); the prompt and the
/// tool replies are context, as in GRPO, where they are masked out of the loss (TRL's <c>tool_mask</c>).
/// </summary>
/// <param name="Tokens">The token ids, prompt first.</param>
/// <param name="Trained">Per token: true where the model learns to predict it.</param>
public sealed record TokenRow(int[] Tokens, bool[] Trained)
{
    /// <summary>
    /// The tokens of <paramref name="question"/> put in <paramref name="format"/>, followed by <paramref name="reply"/>
    /// (assistant turns, with tool turns between them), tokenized piece by piece as a rollout is built: the prompt as
    /// the trainer encodes it, each assistant turn as the model writes it up to its end of turn, and the text between
    /// turns (tool replies, the next assistant header) as the chat template renders it. So the sequence the model learns
    /// from is the one it produces in a GRPO rollout of the same conversation.
    /// </summary>
    /// <param name="tokenizer">The model's tokenizer.</param>
    /// <param name="format">The prompt format, tools included.</param>
    /// <param name="question">The user's question.</param>
    /// <param name="reply">What follows the question: assistant turns, possibly with tool calls, and tool turns.</param>
    /// <param name="endOfTurn">The text that ends an assistant turn (<c>&lt;|im_end|&gt;</c>).</param>
    /// <exception cref="InvalidOperationException">The format renders an assistant turn that does not extend the conversation before it.</exception>
    public static TokenRow FromConversation(ITokenizer tokenizer, PromptFormat format, string question, IReadOnlyList<ChatMessage> reply, string endOfTurn)
    {
        var tokens = new List<int>();
        var trained = new List<bool>();
        void Add(string text, bool train)
        {
            var ids = tokenizer.Encode(text);
            tokens.AddRange(ids);
            trained.AddRange(Enumerable.Repeat(train, ids.Length));
        }

        int done = 0;   // characters of the conversation's text encoded so far
        string through = "";
        for (int i = 0; i < reply.Count; i++)
        {
            if (reply[i].Role != "assistant") continue;
            var before = format.Format(question, reply.Take(i).ToList(), addGenerationPrompt: true);
            through = format.Format(question, reply.Take(i + 1).ToList(), addGenerationPrompt: false);
            int end = through.LastIndexOf(endOfTurn, StringComparison.Ordinal) + endOfTurn.Length;
            if (!through.StartsWith(before, StringComparison.Ordinal) || end < before.Length || before.Length < done)
                throw new InvalidOperationException(
                    $"The chat format does not render assistant turn {i + 1} after the conversation before it, ending in '{endOfTurn}'; pre-training needs a format whose turns only append (ChatML).");
            Add(before[done..], train: false);
            Add(through[before.Length..end], train: true);
            done = end;
        }
        return new TokenRow([.. tokens], [.. trained]);
    }
}
