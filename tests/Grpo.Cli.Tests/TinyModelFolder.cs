using Grpo.Modeling;
using Grpo.Tokenization;
using static TorchSharp.torch;

namespace Grpo.Cli.Tests;

/// <summary>
/// Writes a tiny model folder as the commands expect one: a two-layer qwen3 model (safetensors), a byte-level
/// tokenizer.json (ids 0-255 are the bytes, 256 is &lt;|im_start|&gt;, 257 is &lt;|im_end|&gt;, the EOS) and a
/// tokenizer_config.json with the ChatML template.
/// </summary>
static class TinyModelFolder
{
    public const int EndOfTurn = 257;

    /// <param name="directory">Created if missing.</param>
    /// <param name="seed">Initialisation seed; two seeds give two different models of the same shapes.</param>
    /// <param name="alwaysSeven">
    /// Rewire the weights so the model writes '7' after any prompt: every layer's weights are zero (each block adds
    /// nothing to the residual), every embedding row is all ones (so the final norm outputs all ones), and only
    /// lm_head's row for '7' is non-zero (ones), giving '7' a logit of 96 against 0 for every other token.
    /// </param>
    /// <param name="chatTemplate">Whether tokenizer_config.json carries a chat template.</param>
    public static string Create(string directory, int seed = 1, bool alwaysSeven = false, bool chatTemplate = true)
    {
        Directory.CreateDirectory(directory);
        var config = ModelConfig.Tiny("qwen3", vocabSize: 258) with { EosTokenIds = [EndOfTurn] };
        using var model = CausalLM.Create(config, seed);
        if (alwaysSeven)
            using (no_grad())
                foreach (var (name, parameter) in model.named_parameters())
                {
                    if (name.EndsWith("norm.weight", StringComparison.Ordinal)) continue;
                    parameter.zero_();
                    if (name == "model.embed_tokens.weight") parameter.fill_(1);
                    if (name == "lm_head.weight") parameter[(int)'7'].fill_(1);
                }
        Checkpoint.Save(model, directory);
        new HfTokenizer(TokenizerDefinition.CreateByteLevel(["<|im_start|>", "<|im_end|>"])).Save(Path.Combine(directory, "tokenizer.json"));
        new TokenizerConfig(Path.Combine(directory, TokenizerConfig.FileName), chatTemplate ? ChatMlFormatter.JinjaTemplate : null, null, "<|im_end|>", null).Save();
        return directory;
    }
}
