using System.CommandLine;
using Grpo.Lora;
using Grpo.Modeling;
using Grpo.Tokenization;
using static TorchSharp.torch;

namespace Grpo.Cli;

/// <summary>
/// A Hugging Face model folder opened for the commands: the model, its tokenizer, its end-of-sequence ids and its
/// chat template (when the folder has one), plus an optional LoRA adapter on top. One loader, so that train, eval and
/// generate read a folder, and fail on a bad one, in exactly the same way.
/// </summary>
sealed class ModelFolder : IDisposable
{
    ModelFolder(string path, CausalLM model, HfTokenizer tokenizer, IReadOnlyList<int> eosTokenIds, IChatFormatter? chatFormat)
    {
        Path = path;
        Model = model;
        Tokenizer = tokenizer;
        EosTokenIds = eosTokenIds;
        ChatFormat = chatFormat;
    }

    /// <summary>The <c>--model</c> option of every command that loads a model.</summary>
    public static Option<DirectoryInfo> ModelOption() =>
        new("--model") { Description = "Hugging Face model folder (config.json, model.safetensors, tokenizer.json).", Required = true };

    /// <summary>The <c>--adapter</c> option of the commands that can put a trained adapter on the model.</summary>
    public static Option<DirectoryInfo?> AdapterOption() =>
        new("--adapter") { Description = "LoRA adapter folder (PEFT layout) to put on the model, e.g. the output of 'grpo train'. [default: none]" };

    /// <summary>The folder's full path; recorded as the base of adapters trained on it.</summary>
    public string Path { get; }
    public CausalLM Model { get; }
    public HfTokenizer Tokenizer { get; }
    /// <summary>generation_config.json's eos_token_id together with tokenizer_config.json's eos_token.</summary>
    public IReadOnlyList<int> EosTokenIds { get; }
    /// <summary>The formatter of tokenizer_config.json's chat template; null when the folder has no template.</summary>
    public IChatFormatter? ChatFormat { get; }
    /// <summary>The adapter loaded or applied on the model, if any.</summary>
    public LoraModel? Lora { get; private set; }

    /// <summary>Loads everything a command needs from <paramref name="directory"/>, or throws a message that says what is missing.</summary>
    /// <param name="directory">The model folder.</param>
    /// <param name="maxNewTokens">The most tokens the command will generate per completion; refused, before the weights load, when more than the model's context holds.</param>
    /// <param name="maxNewTokensOption">The option <paramref name="maxNewTokens"/> came from, named in that refusal.</param>
    /// <param name="compute">The device and dtype to load the weights in (<see cref="ComputeOptions.Apply"/>); a null dtype follows the checkpoint where the device computes in it natively.</param>
    public static ModelFolder Open(string directory, int maxNewTokens, string maxNewTokensOption, (Device Device, ScalarType? Dtype) compute)
    {
        var path = System.IO.Path.GetFullPath(directory);
        if (!Directory.Exists(path))
            throw new DirectoryNotFoundException($"Model folder '{path}' does not exist. Pass --model a Hugging Face checkpoint folder (config.json, model.safetensors, tokenizer.json).");
        foreach (var file in new[] { Checkpoint.ConfigFileName, "tokenizer.json" })
            if (!File.Exists(System.IO.Path.Combine(path, file)))
                throw new InvalidDataException($"'{path}' is not a model folder: it has no {file}. Pass --model a Hugging Face checkpoint folder (config.json, model.safetensors, tokenizer.json).");
        int context = ModelConfig.Load(System.IO.Path.Combine(path, Checkpoint.ConfigFileName)).MaxPositionEmbeddings;
        if (maxNewTokens > context)
            throw new ArgumentException($"{maxNewTokensOption} {maxNewTokens} is more than the model's context of {context} tokens (max_position_embeddings in its config.json); " +
                $"give at most {context}, less the prompt's length.");

        var tokenizer = HfTokenizer.FromDirectory(path);
        var eos = EosTokens.FromDirectory(path, tokenizer).ToList();
        var tokenizerConfig = System.IO.Path.Combine(path, TokenizerConfig.FileName);
        var chatFormat = File.Exists(tokenizerConfig) && TokenizerConfig.FromFile(tokenizerConfig).ChatTemplate is not null
            ? ChatFormats.FromTokenizerConfig(TokenizerConfig.FromFile(tokenizerConfig))
            : null;
        var model = Checkpoint.Load(path, compute.Device, compute.Dtype);
        try
        {
            model.EnsureFits(tokenizer);
        }
        catch
        {
            model.Dispose();
            throw;
        }
        return new ModelFolder(path, model, tokenizer, eos, chatFormat);
    }

    /// <summary>
    /// Throws, before any model is loaded, when <paramref name="adapterDirectory"/> is not an adapter folder (missing, or
    /// without a readable adapter_config.json); returns its full path and config.
    /// </summary>
    public static (string Path, PeftAdapterConfig Config) CheckAdapter(string adapterDirectory)
    {
        var adapter = System.IO.Path.GetFullPath(adapterDirectory);
        if (!Directory.Exists(adapter))
            throw new DirectoryNotFoundException($"Adapter folder '{adapter}' does not exist. Pass --adapter the folder 'grpo train' wrote (adapter_config.json, adapter_model.safetensors).");
        return (adapter, PeftAdapterConfig.Read(adapter));
    }

    /// <summary>Puts the adapter saved in <paramref name="adapterDirectory"/> on the model, refused as <see cref="CheckAdapterBase"/> says.</summary>
    public void LoadAdapter(string adapterDirectory)
    {
        var (adapter, config) = CheckAdapter(adapterDirectory);
        CheckAdapterBase(adapter, config, Path);
        Lora = LoraModel.Load(Model, adapter);
    }

    /// <summary>
    /// Refuses the adapter in <paramref name="adapter"/> when its recorded base is a folder other than
    /// <paramref name="modelFolder"/>: same shapes with other weights would compute silently wrong outputs. A hub id as
    /// base (an adapter trained elsewhere) cannot be compared with a folder, so only its shapes are checked, on loading.
    /// </summary>
    public static void CheckAdapterBase(string adapter, PeftAdapterConfig config, string modelFolder)
    {
        var recordedBase = config.BaseModelNameOrPath;
        if (recordedBase is not null && System.IO.Path.IsPathRooted(recordedBase)
            && System.IO.Path.GetFullPath(recordedBase).TrimEnd(System.IO.Path.DirectorySeparatorChar) != modelFolder.TrimEnd(System.IO.Path.DirectorySeparatorChar))
            throw new InvalidOperationException(
                $"The adapter in '{adapter}' was trained on '{recordedBase}', not on '{modelFolder}'. Pass --model '{recordedBase}', " +
                "or, if this folder is a copy of that checkpoint, set base_model_name_or_path in its adapter_config.json to this folder.");
    }

    /// <summary>A second copy of the weights as loaded (same device and dtype), for a frozen KL reference.</summary>
    public CausalLM LoadCopy() => Checkpoint.Load(Path, Model.Device, Model.Dtype);

    /// <summary>Puts a fresh adapter on the model for training.</summary>
    public void ApplyAdapter(LoraOptions options) => Lora = LoraModel.Apply(Model, options, Path);

    /// <summary>
    /// The text the model is prompted with: <paramref name="userText"/> in the chat template (after an optional system
    /// message) when <paramref name="chat"/> is on, else the text as it is.
    /// </summary>
    public string FormatPrompt(string userText, bool chat, string? systemPrompt = null)
    {
        if (!chat) return userText;
        if (ChatFormat is null)
            throw new InvalidDataException($"'{Path}' has no chat template in {TokenizerConfig.FileName}; leave out --chat (or pass --no-chat) to prompt with the raw text.");
        List<ChatMessage> messages = systemPrompt is null ? [] : [new ChatMessage("system", systemPrompt)];
        messages.Add(new ChatMessage("user", userText));
        return ChatFormat.Format(messages, addGenerationPrompt: true);
    }

    public void Dispose() => Model.Dispose();
}
