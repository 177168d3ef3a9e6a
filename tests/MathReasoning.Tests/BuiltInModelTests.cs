using Grpo.Modeling;
using Grpo.Samples.MathReasoning;
using Grpo.Tokenization;

namespace MathReasoning.Tests;

public class BuiltInModelTests
{
    [Fact]
    public void The_tokenizer_round_trips_a_prompt_and_answer_with_chat_tokens_whole_and_digits_single()
    {
        var tokenizer = BuiltInModel.CreateTokenizer();
        var problem = ArithmeticWordProblems.Generate(1, seed: 11, ProblemSplit.HeldOut)[0];
        var text = PromptFormat.BuiltIn.Format(problem.Question) + problem.Answer + BuiltInModel.EndOfTurn;
        var ids = tokenizer.Encode(text);
        Assert.Equal(text, tokenizer.Decode(ids, skipSpecialTokens: false));
        Assert.Equal(2, ids.Count(id => id == tokenizer.TokenToId(BuiltInModel.EndOfTurn)));
        Assert.Equal(2, ids.Count(id => id == tokenizer.TokenToId("<|im_start|>")));
        var answerIds = tokenizer.Encode(problem.Result.ToString());
        Assert.Equal(problem.Result.ToString().Length, answerIds.Length);
        // The merges spell whole words: a question takes far fewer tokens than bytes.
        Assert.True(tokenizer.Encode(problem.Question).Length * 2 < problem.Question.Length);
    }

    [Fact]
    public void The_committed_checkpoint_loads_with_its_tokenizer_which_is_the_one_pretrain_builds()
    {
        using var loaded = LoadedModel.Load(BuiltInModel.InstalledFolder, builtIn: true);
        var fresh = BuiltInModel.CreateTokenizer();
        var text = PromptFormat.BuiltIn.Format(ArithmeticWordProblems.Generate(1, seed: 12, ProblemSplit.Train)[0].Question);
        Assert.Equal(fresh.Encode(text), loaded.Tokenizer.Encode(text));
        Assert.Equal(BuiltInModel.CreateConfig(fresh).ToJson(), loaded.Model.Config.ToJson());
        Assert.Equal([fresh.TokenToId(BuiltInModel.EndOfTurn)!.Value], loaded.Model.EosTokenIds);
        Assert.IsType<ChatMlFormatter>(loaded.Format.Chat);
        Assert.Null(loaded.Format.SystemPrompt);
        var bytes = Directory.EnumerateFiles(BuiltInModel.InstalledFolder).Sum(f => new FileInfo(f).Length);
        Assert.InRange(bytes, 1, 20_000_000);
    }
}
