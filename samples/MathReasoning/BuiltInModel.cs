using System.Text.RegularExpressions;
using Grpo.Modeling;
using Grpo.Tokenization;

namespace Grpo.Samples.MathReasoning;

/// <summary>
/// The sample's own small model: its byte-level tokenizer, its architecture, the chat format it is prompted in, and
/// where its checkpoint lives. <c>pretrain</c> builds and trains it; the GRPO run starts from the saved folder.
/// </summary>
public static class BuiltInModel
{
    /// <summary>Ends an assistant turn, so it ends a completion too.</summary>
    public const string EndOfTurn = "<|im_end|>";

    /// <summary>Padding and end of text.</summary>
    public const string EndOfText = "<|endoftext|>";

    /// <summary>The folder name of the checkpoint, beside the sample's sources and copied beside its binaries.</summary>
    public const string FolderName = "model";

    /// <summary>The checkpoint the build copies beside the sample's binaries: the default starting model.</summary>
    public static string InstalledFolder => Path.Combine(AppContext.BaseDirectory, FolderName);

    /// <summary>
    /// How <c>pretrain</c> builds this model: answers of two kinds, a <see cref="PretrainOptions.WorkedShare"/> worked
    /// ("3*4=12", "12+5=17", "#### 17") and the rest bare ("#### 17"), in ChatML without a system message.
    /// </summary>
    public static PretrainRecipe Recipe { get; } = new()
    {
        FolderName = FolderName,
        Format = PromptFormat.BuiltIn,
        Defaults = new PretrainOptions(),
        CreateTokenizer = () => CreateTokenizer(),
        CreateConfig = tokenizer => CreateConfig(tokenizer),
        Reply = (problem, index, options) => [new ChatMessage("assistant", SupervisedPretraining.ShowsWork(options, index) ? problem.Answer : problem.BareAnswer)],
        Method = "worked",
        UsesMethod = Evaluation.ShowsWork,
    };

    /// <summary>
    /// The byte-level tokenizer: the 256 bytes, then merges that spell each word and punctuation run of the problems
    /// (built from a sample of them, first come first merged), then ChatML's control tokens. Digits stay single
    /// tokens, as Qwen's pre-tokenizer splits them, so the model sees arithmetic digit by digit. The merges make a
    /// question about 25 tokens instead of 90 bytes, which is most of the speed of pre-training and GRPO here.
    /// </summary>
    /// <param name="extraTexts">
    /// More text whose words get merges too, after the problems' (so the problems' token ids stay as they are): a
    /// model prompted with more than the question, such as tool descriptions, reads them as words, not bytes. Leave
    /// ChatML's control tokens out of it.
    /// </param>
    /// <param name="wholeTexts">
    /// Texts that every prompt repeats word for word, each added as one token after ChatML's (as a template's control
    /// tokens are): a tools block that would otherwise cost about 140 tokens of every sequence costs one.
    /// </param>
    public static HfTokenizer CreateTokenizer(IEnumerable<string>? extraTexts = null, IEnumerable<string>? wholeTexts = null)
    {
        var pieces = new Regex(TokenizerDefinition.QwenSplitPattern, RegexOptions.CultureInvariant);
        var merges = new List<(string, string)>();
        var tokens = new HashSet<string>();
        var texts = ArithmeticWordProblems.Generate(2000, seed: 0, ProblemSplit.Train).Select(p => p.Question + "\n" + p.Answer).Concat(extraTexts ?? []);
        foreach (var sample in texts)
        {
            foreach (Match piece in pieces.Matches(sample))
            {
                var text = piece.Value;
                if (text.Any(char.IsDigit)) continue;
                for (int end = 2; end <= text.Length; end++)
                    if (tokens.Add(text[..end])) merges.Add((text[..(end - 1)], text[(end - 1)..end]));
            }
        }
        return new HfTokenizer(TokenizerDefinition.CreateByteLevel(["<|im_start|>", EndOfTurn, EndOfText, .. wholeTexts ?? []], merges));
    }

    /// <summary>
    /// The architecture: Qwen3 (q/k norm, tied embeddings), 4 layers of width 192 with grouped-query attention, about
    /// 1.7 million weights. Small enough that a GRPO step of 8 prompts × 8 completions takes about a second on two cores.
    /// </summary>
    /// <param name="tokenizer">The tokenizer, whose vocabulary and end of turn the model gets.</param>
    /// <param name="maxPositionEmbeddings">The context length; 256 holds a question and its answer, a longer prompt needs more.</param>
    public static ModelConfig CreateConfig(HfTokenizer tokenizer, int maxPositionEmbeddings = 256) => new()
    {
        ModelType = "qwen3",
        VocabSize = tokenizer.VocabSize,
        HiddenSize = 192,
        IntermediateSize = 512,
        NumHiddenLayers = 4,
        NumAttentionHeads = 6,
        NumKeyValueHeads = 2,
        HeadDim = 32,
        MaxPositionEmbeddings = maxPositionEmbeddings,
        TieWordEmbeddings = true,
        EosTokenIds = [tokenizer.TokenToId(EndOfTurn)!.Value],
    };

    /// <summary>
    /// Writes a pre-trained model and its tokenizer as a Hugging Face folder, replacing <paramref name="folder"/>. They
    /// are written beside it and moved into place, so an interrupted run never leaves a half-written model.
    /// </summary>
    public static void Save(CausalLM model, HfTokenizer tokenizer, string folder)
    {
        var staging = folder.TrimEnd(Path.DirectorySeparatorChar) + ".partial";
        if (Directory.Exists(staging)) Directory.Delete(staging, recursive: true);
        Checkpoint.Save(model, staging);
        SaveTokenizer(tokenizer, staging);
        if (Directory.Exists(folder)) Directory.Delete(folder, recursive: true);
        Directory.Move(staging, folder);
    }

    /// <summary>Writes the tokenizer files of a model folder: tokenizer.json and a tokenizer_config.json with the ChatML template.</summary>
    public static void SaveTokenizer(HfTokenizer tokenizer, string folder)
    {
        tokenizer.Save(Path.Combine(folder, "tokenizer.json"));
        new TokenizerConfig(Path.Combine(folder, TokenizerConfig.FileName), ChatMlFormatter.JinjaTemplate, null, EndOfTurn, EndOfText).Save();
    }
}
