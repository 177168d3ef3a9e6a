using Grpo.Modeling;
using Grpo.Samples.MathReasoning;

namespace MathReasoning.Tests;

/// <summary>A throwaway model folder: the built-in tokenizer on a tiny random Qwen3, as a user's checkpoint would look.</summary>
public sealed class TinyModelFolder : IDisposable
{
    public TinyModelFolder()
    {
        var tokenizer = BuiltInModel.CreateTokenizer();
        var config = ModelConfig.Tiny("qwen3", tokenizer.VocabSize) with { EosTokenIds = [tokenizer.TokenToId(BuiltInModel.EndOfTurn)!.Value] };
        using var model = CausalLM.Create(config, seed: 5);
        Checkpoint.Save(model, Path);
        BuiltInModel.SaveTokenizer(tokenizer, Path);
    }

    public string Path { get; } = System.IO.Path.Combine(System.IO.Path.GetTempPath(), "mr-tiny-" + Guid.NewGuid().ToString("N"));

    public void Dispose() => Directory.Delete(Path, recursive: true);
}
