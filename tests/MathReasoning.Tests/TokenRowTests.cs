using Grpo.Samples.MathReasoning;
using Grpo.Tokenization;

namespace MathReasoning.Tests;

public class TokenRowTests
{
    [Fact]
    public void A_plain_answer_is_the_prompt_then_the_answer_and_end_of_turn_trained_after_the_prompt()
    {
        // The layout pre-training had before rows were conversations, built here by hand from the three pieces.
        var tokenizer = BuiltInModel.CreateTokenizer();
        var problem = ArithmeticWordProblems.Generate(1, seed: 4, ProblemSplit.Train)[0];
        var row = TokenRow.FromConversation(tokenizer, PromptFormat.BuiltIn, problem.Question, [new ChatMessage("assistant", problem.Answer)], BuiltInModel.EndOfTurn);
        var prompt = tokenizer.Encode($"<|im_start|>user\n{problem.Question}<|im_end|>\n<|im_start|>assistant\n");
        int[] expected = [.. prompt, .. tokenizer.Encode(problem.Answer), tokenizer.TokenToId(BuiltInModel.EndOfTurn)!.Value];
        Assert.Equal(expected, row.Tokens);
        Assert.Equal(expected.Select((_, i) => i >= prompt.Length), row.Trained);
    }
}
