using Grpo.Samples.MathReasoning;
using Grpo.Tokenization;
using Microsoft.Extensions.AI;
using ChatMessage = Grpo.Tokenization.ChatMessage;

namespace Grpo.Samples.ToolCalling;

/// <summary>
/// The tool sample's own small model: the maths sample's architecture and tokenizer, prompted in ChatML with the
/// calculator described in the system turn as Qwen2.5's template describes tools, and pre-trained on the same
/// arithmetic word problems with a minority of answers that call the calculator. Its checkpoint lives in
/// <see cref="FolderName"/>; <c>pretrain</c> rebuilds it.
/// </summary>
public static class ToolModel
{
    /// <summary>The folder name of the checkpoint, beside the sample's sources and copied beside its binaries (the maths model is in model/).</summary>
    public const string FolderName = "tool-model";

    /// <summary>The checkpoint the build copies beside the sample's binaries: the default starting model.</summary>
    public static string InstalledFolder => Path.Combine(AppContext.BaseDirectory, FolderName);

    /// <summary>ChatML with the calculator: the system turn is the tools block, the user turn the bare question.</summary>
    public static PromptFormat Format { get; } = new(new ChatMlFormatter(), null, [Calculator.Function]);

    /// <summary>
    /// The context length: the prompt takes about 30 tokens (the tools block is one), and an answer that calls the tool
    /// about 50 (the call, the tool's reply and the final answer).
    /// </summary>
    public const int MaxPositionEmbeddings = 256;

    /// <summary>
    /// How <c>pretrain</c> builds this model: a <see cref="PretrainOptions.ToolShare"/> of answers call the calculator
    /// with the problem's expression and copy its result ("#### 17"); the rest answer as the maths model learns to
    /// (worked or bare, by <see cref="PretrainOptions.WorkedShare"/>).
    /// </summary>
    public static PretrainRecipe Recipe { get; } = new()
    {
        FolderName = FolderName,
        Format = Format,
        Defaults = new PretrainOptions { Steps = 600, ToolShare = 0.2, WorkedShare = 0 },
        CreateTokenizer = CreateTokenizer,
        CreateConfig = tokenizer => BuiltInModel.CreateConfig(tokenizer, MaxPositionEmbeddings),
        Reply = (problem, index, options) => SupervisedPretraining.CallsTool(options, index) ? ToolReply(problem) : BuiltInModel.Recipe.Reply(problem, index, options),
        Method = "called the tool",
        UsesMethod = Evaluation.CallsTool,
        MaxNewTokens = 64,
    };

    /// <summary>The GRPO run's defaults: the maths sample's, on this model, with the calculator.</summary>
    public static TrainSettings TrainDefaults { get; } = new()
    {
        BuiltInModelFolder = InstalledFolder,
        Tools = [Calculator.Function],
        RunName = "tools",
        Steps = 60,
        EvalEvery = 20,
        MaxCompletionLength = 64,
    };

    /// <summary>
    /// The maths model's tokenizer (<see cref="BuiltInModel.CreateTokenizer"/>) with merges for the words of the tool
    /// call and the tool's reply, and the tools block (the system turn's text, the same in every prompt) as one added
    /// token: written out in words it would be about 140 tokens, six times the question, and make every pre-training and
    /// GRPO step six times slower for text that never changes.
    /// </summary>
    public static HfTokenizer CreateTokenizer()
    {
        var toolsBlock = ToolsBlock();
        string[] control = ["<|im_start|>", BuiltInModel.EndOfTurn, BuiltInModel.EndOfText, toolsBlock];
        var conversations = ArithmeticWordProblems.Generate(200, seed: 0, ProblemSplit.Train)
            .Select(problem => Format.Format(problem.Question, ToolReply(problem), addGenerationPrompt: false));
        return BuiltInModel.CreateTokenizer(conversations.SelectMany(text => text.Split(control, StringSplitOptions.RemoveEmptyEntries)), [toolsBlock]);
    }

    /// <summary>The system turn's text as <see cref="Format"/> renders it: the calculator's schema inside Qwen2.5's tools instructions.</summary>
    public static string ToolsBlock()
    {
        const string start = "<|im_start|>system\n";
        var prompt = Format.Format("question");
        return prompt[start.Length..prompt.IndexOf(BuiltInModel.EndOfTurn, StringComparison.Ordinal)];
    }

    /// <summary>
    /// The answer that uses the tool: a turn that only calls <c>calculate</c> with the problem's expression, the
    /// calculator's reply, and a turn that copies it as the final answer.
    /// </summary>
    public static IReadOnlyList<ChatMessage> ToolReply(WordProblem problem)
    {
        var arguments = new Dictionary<string, object?> { ["expression"] = problem.Expression };
        var result = Calculator.Function.InvokeAsync(new AIFunctionArguments(arguments)).AsTask().GetAwaiter().GetResult();   // completes at once: the method is synchronous
        return
        [
            new ChatMessage("assistant", "") { ToolCalls = [new FunctionCallContent("call_0", Calculator.Function.Name, arguments)] },
            ChatMessage.ToolResult(result),
            new ChatMessage("assistant", $"#### {problem.Result}"),
        ];
    }
}
