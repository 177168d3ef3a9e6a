using Grpo.Modeling;
using TorchSharp;
using static TorchSharp.torch;

namespace Grpo.Tests.Chat;

/// <summary>
/// A real <see cref="CausalLM"/> whose weights make it a bigram model that follows scripts: every attention and MLP
/// block writes zero into the residual stream, so the hidden state at a position is its token's embedding, and the
/// LM head maps each scripted token to the one that follows it in its script with a logit near 100 against 0 for every
/// other token, so even sampling at temperature 1 follows the script. A script starts from a prompt's last token.
/// </summary>
internal static class ScriptedModel
{
    public static CausalLM Create(int vocabSize, IEnumerable<int[]> scripts)
    {
        var successor = new Dictionary<int, int>();
        foreach (var script in scripts)
            for (int i = 0; i + 1 < script.Length; i++)
                if (!successor.TryAdd(script[i], script[i + 1]) && successor[script[i]] != script[i + 1])
                    throw new ArgumentException($"Token {script[i]} is followed by {successor[script[i]]} in one script and {script[i + 1]} in another; a bigram model can follow only one.");
        var config = ModelConfig.Tiny("qwen3", vocabSize) with { TieWordEmbeddings = false };
        if (successor.Count > config.HiddenSize)
            throw new ArgumentException($"{successor.Count} scripted tokens need their own of the {config.HiddenSize} hidden dimensions.");

        var model = CausalLM.Create(config, seed: 1);
        using var noGrad = no_grad();
        using var scope = NewDisposeScope();
        var embedding = zeros(config.VocabSize, config.HiddenSize);
        var head = zeros(config.VocabSize, config.HiddenSize);
        int dimension = 0;
        foreach (var (token, next) in successor)
        {
            embedding[token, dimension] = 1;
            head[next, dimension] = 10;
            dimension++;
        }
        foreach (var (name, parameter) in model.named_parameters())
        {
            if (name.EndsWith("o_proj.weight") || name.EndsWith("down_proj.weight")) parameter.zero_();
            else if (name == "model.embed_tokens.weight") parameter.copy_(embedding);
            else if (name == "lm_head.weight") parameter.copy_(head);
            else if (name == "model.norm.weight") parameter.fill_(1);
        }
        return model;
    }
}
