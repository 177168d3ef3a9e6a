using Grpo.Modeling;
using Grpo.Samples.MathReasoning;
using Grpo.Samples.ToolCalling;
using Grpo.Sampling;
using Grpo.Tokenization;

namespace ToolCalling.Tests;

public class ToolModelTests
{
    [Fact]
    public void The_prompt_describes_the_calculator_as_qwen_does_in_one_token_and_the_answer_in_words()
    {
        var tokenizer = ToolModel.CreateTokenizer();
        var problem = ArithmeticWordProblems.Generate(1, seed: 5, ProblemSplit.HeldOut)[0];
        var prompt = ToolModel.Format.Format(problem.Question);
        // Qwen2.5's tools block, with the calculator's schema written as Python's json.dumps writes it.
        Assert.StartsWith("<|im_start|>system\n# Tools\n\nYou may call one or more functions to assist with the user query.", prompt);
        Assert.Contains("<tools>\n{\"type\": \"function\", \"function\": {\"name\": \"calculate\", ", prompt);
        Assert.EndsWith($"<|im_end|>\n<|im_start|>user\n{problem.Question}<|im_end|>\n<|im_start|>assistant\n", prompt);
        var ids = tokenizer.Encode(prompt);
        Assert.Equal(prompt, tokenizer.Decode(ids, skipSpecialTokens: false));
        Assert.Equal(1, ids.Count(id => id == tokenizer.TokenToId(ToolModel.ToolsBlock())));
        Assert.InRange(ids.Length, 10, 50);
        // The maths model's merges keep their ids: its words read the same.
        Assert.Equal(BuiltInModel.CreateTokenizer().Encode(problem.Question), tokenizer.Encode(problem.Question));
        // The call is words and single digits, not bytes.
        var call = ToolModel.Format.Format(problem.Question, ToolModel.ToolReply(problem), addGenerationPrompt: false)[prompt.Length..];
        Assert.StartsWith($"<tool_call>\n{{\"name\": \"calculate\", \"arguments\": {{\"expression\": \"{problem.Expression}\"}}}}\n</tool_call><|im_end|>\n", call);
        Assert.True(tokenizer.Encode(call).Length * 2 < call.Length);
    }

    [Fact]
    public void The_committed_checkpoint_is_the_one_pretrain_builds_with_its_tokenizer_and_architecture()
    {
        using var loaded = LoadedModel.Load(ToolModel.InstalledFolder, builtIn: true);
        var fresh = ToolModel.CreateTokenizer();
        var text = ToolModel.Format.Format(ArithmeticWordProblems.Generate(1, seed: 12, ProblemSplit.Train)[0].Question);
        Assert.Equal(fresh.Encode(text), loaded.Tokenizer.Encode(text));
        Assert.Equal(ToolModel.Recipe.CreateConfig(fresh).ToJson(), loaded.Model.Config.ToJson());
        Assert.IsType<ChatMlFormatter>(loaded.Format.Chat);
    }

    [Fact]
    public void A_tool_answer_is_trained_on_the_assistants_tokens_only()
    {
        var tokenizer = ToolModel.CreateTokenizer();
        var problem = ArithmeticWordProblems.Generate(1, seed: 3, ProblemSplit.Train)[0];
        var row = TokenRow.FromConversation(tokenizer, ToolModel.Format, problem.Question, ToolModel.ToolReply(problem), BuiltInModel.EndOfTurn);
        var trained = tokenizer.Decode(row.Tokens.Where((_, i) => row.Trained[i]), skipSpecialTokens: false);
        var context = tokenizer.Decode(row.Tokens.Where((_, i) => !row.Trained[i]), skipSpecialTokens: false);
        var call = $"<tool_call>\n{{\"name\": \"calculate\", \"arguments\": {{\"expression\": \"{problem.Expression}\"}}}}\n</tool_call>";
        Assert.Equal($"{call}<|im_end|>#### {problem.Result}<|im_end|>", trained);
        Assert.EndsWith($"{problem.Question}<|im_end|>\n<|im_start|>assistant\n\n<|im_start|>user\n<tool_response>\n{problem.Result}\n</tool_response><|im_end|>\n<|im_start|>assistant\n", context);
    }

    [Fact]
    public void Pre_training_encodes_a_tool_conversation_exactly_as_a_tool_rollout_produces_it()
    {
        using var loaded = LoadedModel.Load(ToolModel.InstalledFolder, builtIn: true);
        var tokenizer = loaded.Tokenizer;
        var problems = MathProblems.HeldOut(8);
        var sampling = new SamplingOptions { MaxNewTokens = ToolModel.Recipe.MaxNewTokens, Seed = 7 };
        var rollouts = Evaluation.Sample(loaded.Model, tokenizer, ToolModel.Format, problems, 8, sampling).SelectMany(g => g)
            .Where(r => r.Completion.ToolCalls == 1 && r.Completion.FinishReason == FinishReason.Eos).ToList();
        Assert.NotEmpty(rollouts);
        foreach (var rollout in rollouts.Take(4))
        {
            var completion = rollout.Completion;
            var reply = ChatMessage.FromAI(completion.Messages!);
            Assert.Equal(["assistant", "tool", "assistant"], reply.Select(m => m.Role));
            var row = TokenRow.FromConversation(tokenizer, ToolModel.Format, rollout.Problem.Prompt, reply, BuiltInModel.EndOfTurn);
            var prompt = tokenizer.Encode(ToolModel.Format.Format(rollout.Problem.Prompt));
            Assert.Equal([.. prompt, .. completion.TokenIds], row.Tokens);
            Assert.Equal([.. prompt.Select(_ => false), .. completion.PolicyTokenMask!], row.Trained);
        }
    }
}
