using Grpo.Modeling;
using Grpo.Tokenization;
using static TorchSharp.torch;

namespace Grpo.Samples.MathReasoning;

/// <summary>A model folder loaded for a run: the weights, the tokenizer and the prompt format its chat template implies.</summary>
/// <param name="Folder">The folder it came from.</param>
/// <param name="Model">The weights.</param>
/// <param name="Tokenizer">Its tokenizer.json.</param>
/// <param name="Format">How questions are put to it.</param>
public sealed record LoadedModel(string Folder, CausalLM Model, HfTokenizer Tokenizer, PromptFormat Format) : IDisposable
{
    /// <summary>
    /// Loads a Hugging Face model folder: config.json, safetensors weights, tokenizer.json and tokenizer_config.json
    /// with a chat template. Any missing or broken part is reported as "not a usable model folder" with the reason.
    /// </summary>
    /// <param name="folder">The folder.</param>
    /// <param name="builtIn">True for the sample's own model, prompted with the bare question; other models get <see cref="PromptFormat.Gsm8kInstruction"/>.</param>
    /// <param name="device">Where the weights go; default the CPU.</param>
    /// <param name="dtype">Their dtype; null follows the checkpoint where the device computes in it natively (<see cref="Checkpoint.Load"/>).</param>
    /// <exception cref="InvalidDataException">The folder is not a usable model folder; the message says which file and why.</exception>
    public static LoadedModel Load(string folder, bool builtIn, Device? device = null, ScalarType? dtype = null)
    {
        CausalLM? model = null;
        try
        {
            if (!Directory.Exists(folder))
                throw new DirectoryNotFoundException("the folder does not exist.");
            model = Checkpoint.Load(folder, device, dtype);
            var tokenizer = HfTokenizer.FromDirectory(folder);
            model.EnsureFits(tokenizer);
            if (model.EosTokenIds.Count == 0)
                throw new InvalidDataException("neither generation_config.json nor config.json gives an eos_token_id, so no completion would ever end.");
            var chat = ChatFormats.FromTokenizerConfig(TokenizerConfig.FromDirectory(folder));
            return new LoadedModel(folder, model, tokenizer, new PromptFormat(chat, builtIn ? null : PromptFormat.Gsm8kInstruction));
        }
        catch (Exception e) when (e is IOException or InvalidDataException or NotSupportedException or UnauthorizedAccessException)
        {
            model?.Dispose();
            throw new InvalidDataException(
                $"'{folder}' is not a usable model folder: {e.Message} A model folder is a Hugging Face checkpoint with config.json, " +
                "model.safetensors, tokenizer.json and tokenizer_config.json (with a chat template).", e);
        }
    }

    /// <summary>Frees the weights.</summary>
    public void Dispose() => Model.Dispose();
}
