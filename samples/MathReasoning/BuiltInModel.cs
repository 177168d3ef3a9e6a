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
    /// The byte-level tokenizer: the 256 bytes, then merges that spell each word and punctuation run of the problems
    /// (built from a sample of them, first come first merged), then ChatML's control tokens. Digits stay single
    /// tokens, as Qwen's pre-tokenizer splits them, so the model sees arithmetic digit by digit. The merges make a
    /// question about 25 tokens instead of 90 bytes, which is most of the speed of pre-training and GRPO here.
    /// </summary>
    public static HfTokenizer CreateTokenizer()
    {
        var pieces = new Regex(TokenizerDefinition.QwenSplitPattern, RegexOptions.CultureInvariant);
        var merges = new List<(string, string)>();
        var tokens = new HashSet<string>();
        foreach (var problem in ArithmeticWordProblems.Generate(2000, seed: 0, ProblemSplit.Train))
        {
            foreach (Match piece in pieces.Matches(problem.Question + "\n" + problem.Answer))
            {
                var text = piece.Value;
                if (text.Any(char.IsDigit)) continue;
                for (int end = 2; end <= text.Length; end++)
                    if (tokens.Add(text[..end])) merges.Add((text[..(end - 1)], text[(end - 1)..end]));
            }
        }
        return new HfTokenizer(TokenizerDefinition.CreateByteLevel(["<|im_start|>", EndOfTurn, EndOfText], merges));
    }

    /// <summary>
    /// The architecture: Qwen3 (q/k norm, tied embeddings), 4 layers of width 192 with grouped-query attention, about
    /// 1.7 million weights. Small enough that a GRPO step of 8 prompts × 8 completions takes about a second on two cores.
    /// </summary>
    public static ModelConfig CreateConfig(HfTokenizer tokenizer) => new()
    {
        ModelType = "qwen3",
        VocabSize = tokenizer.VocabSize,
        HiddenSize = 192,
        IntermediateSize = 512,
        NumHiddenLayers = 4,
        NumAttentionHeads = 6,
        NumKeyValueHeads = 2,
        HeadDim = 32,
        MaxPositionEmbeddings = 256,
        TieWordEmbeddings = true,
        EosTokenIds = [tokenizer.TokenToId(EndOfTurn)!.Value],
    };

    /// <summary>Writes the tokenizer files of a model folder: tokenizer.json and a tokenizer_config.json with the ChatML template.</summary>
    public static void SaveTokenizer(HfTokenizer tokenizer, string folder)
    {
        tokenizer.Save(Path.Combine(folder, "tokenizer.json"));
        new TokenizerConfig(Path.Combine(folder, TokenizerConfig.FileName), ChatMlFormatter.JinjaTemplate, null, EndOfTurn, EndOfText).Save();
    }
}
