using System.Text.Json;
using Grpo.Tokenization;
using static TorchSharp.torch;
using Microsoft.AspNetCore.Http;

namespace Grpo.Cli.Serve;

/// <summary>
/// What <c>grpo serve</c> serves: the base model under its served name and the LoRA adapters loaded by name
/// (vLLM's <c>/v1/load_lora_adapter</c>), each named as <c>model</c> in a request.
/// </summary>
/// <remarks>
/// <para>One copy of the base weights however many adapters are loaded: the first adapter attaches LoRA layers to the
/// base model, and every adapter keeps only its own A and B matrices (r·(in+out) per layer), copied into those layers
/// when a batch for it starts (<see cref="Activate"/>); the base model is served with the layers switched off. So
/// memory is the base plus the adapters, bounded by <c>--max-loras</c>, and every adapter must share the first one's
/// layers, rank and alpha (a trainer publishing its policy step after step always does).</para>
/// <para>Loading, unloading and activating run on the scheduler's thread, between batches, so no batch ever decodes
/// on weights that are being replaced or freed; the name checks a request makes on arrival only read, under a lock.</para>
/// </remarks>
sealed class ServedModels : IDisposable
{
    readonly object _gate = new();
    readonly Dictionary<string, (IReadOnlyList<(Tensor A, Tensor B)> Weights, string Path)> _adapters = [];
    /// <summary>The adapter whose matrices the model's LoRA layers hold now; null when none does.</summary>
    string? _active;
    readonly string? _adapterRoot;
    readonly int _maxLoras;

    /// <param name="baseModel">The base model's folder, opened.</param>
    /// <param name="baseName">The name requests give for the base model (vLLM's --served-model-name).</param>
    /// <param name="adapterRoot">The only folder adapters may be loaded from (and below); null refuses every load.</param>
    /// <param name="maxLoras">The most adapters loaded at once.</param>
    public ServedModels(ModelFolder baseModel, string baseName, string? adapterRoot, int maxLoras)
    {
        Base = baseModel;
        BaseName = baseName;
        _adapterRoot = adapterRoot is null ? null : System.IO.Path.TrimEndingDirectorySeparator(System.IO.Path.GetFullPath(adapterRoot));
        _maxLoras = maxLoras;
    }

    public ModelFolder Base { get; }
    public string BaseName { get; }
    public ITokenizer Tokenizer => Base.Tokenizer;
    public int VocabSize => Base.Model.Config.VocabSize;
    /// <summary>Prompt plus completion tokens the model takes (max_position_embeddings).</summary>
    public int Context => Base.Model.Config.MaxPositionEmbeddings;

    /// <summary>Throws a 404 unless <paramref name="name"/> is the base model or a loaded adapter.</summary>
    public void EnsureServed(string name)
    {
        if (name == BaseName) return;
        lock (_gate)
            if (_adapters.ContainsKey(name)) return;
        throw OpenAiError.NotFound($"The model `{name}` does not exist.", "model");
    }

    /// <summary>
    /// Makes the base model compute as <paramref name="name"/> until the returned scope is disposed: the adapter's
    /// matrices copied into the LoRA layers (when another adapter's are there), or for the base model, the layers
    /// switched off. A 404 when the adapter was unloaded meanwhile. Call on the scheduler's thread only.
    /// </summary>
    public IDisposable Activate(string name)
    {
        if (name == BaseName) return Base.Lora?.Disabled() ?? new NoScope();
        IReadOnlyList<(Tensor A, Tensor B)> weights;
        lock (_gate)
        {
            if (!_adapters.TryGetValue(name, out var adapter))
                throw OpenAiError.NotFound($"The model `{name}` does not exist (it was unloaded).", "model");
            weights = adapter.Weights;
        }
        if (_active != name)
        {
            using var noGrad = no_grad();
            foreach (var ((_, layer), (a, b)) in Base.Lora!.Layers.Zip(weights))
            {
                layer.lora!.A.copy_(a);
                layer.lora!.B.copy_(b);
            }
            _active = name;
        }
        return new NoScope();
    }

    sealed class NoScope : IDisposable
    {
        public void Dispose() { }
    }

    /// <summary>The served models for <c>/v1/models</c>: name, folder, and for adapters the base's name.</summary>
    public IReadOnlyList<(string Id, string Root, string? Parent)> List()
    {
        lock (_gate)
            return [(BaseName, Base.Path, null), .. _adapters.Select(a => (a.Key, a.Value.Path, (string?)BaseName))];
    }

    /// <summary>
    /// Loads the PEFT adapter in <paramref name="path"/> (absolute, or relative to the adapter root) under
    /// <paramref name="name"/>, for <c>/v1/load_lora_adapter</c>. Refused with a 4xx, before any weights load where it
    /// can be: a name in use, no adapter root, a folder outside it or missing, a full house; then, from the loader, an
    /// adapter of another base, rank or target layers than this model's.
    /// </summary>
    public void LoadAdapter(string name, string path) => Load(name, path, AllowedFolder);

    /// <summary>
    /// Loads an adapter named on the command line (<c>--lora-modules NAME=PATH</c>): the operator chose the folder, so
    /// it need not lie inside the adapter root; every other check and refusal is <see cref="LoadAdapter"/>'s.
    /// </summary>
    public void LoadStartupAdapter(string name, string path) => Load(name, path, System.IO.Path.GetFullPath);

    void Load(string name, string path, Func<string, string> resolve)
    {
        if (name == BaseName)
            throw new OpenAiError(StatusCodes.Status400BadRequest, "InvalidUserInput", $"'{name}' is the base model's name; give the adapter another.", "lora_name");
        lock (_gate)
        {
            if (_adapters.ContainsKey(name))
                throw new OpenAiError(StatusCodes.Status400BadRequest, "InvalidUserInput",
                    $"The lora adapter '{name}' has already been loaded; unload it first, or load the new version under a new name.", "lora_name");
            if (_adapters.Count >= _maxLoras)
                throw new OpenAiError(StatusCodes.Status400BadRequest, "InvalidUserInput",
                    $"{_adapters.Count} adapters are loaded, the most this server holds (--max-loras); unload one first.", "lora_name");
        }
        var folder = resolve(path);
        try
        {
            ModelFolder.CheckAdapter(folder);
        }
        catch (DirectoryNotFoundException)
        {
            throw OpenAiError.NotFound($"The adapter folder '{folder}' does not exist.", "lora_path");
        }
        catch (Exception e) when (e is IOException or InvalidDataException or JsonException or ArgumentException or InvalidOperationException)
        {
            throw OpenAiError.BadRequest($"'{folder}' is not a loadable adapter: {e.Message}", "lora_path");
        }

        IReadOnlyList<(Tensor A, Tensor B)> weights;
        try
        {
            weights = ReadWeights(folder);
        }
        catch (Exception e) when (e is IOException or InvalidDataException or JsonException or ArgumentException or InvalidOperationException)
        {
            throw OpenAiError.BadRequest($"The adapter in '{folder}' does not fit this model: {e.Message}", "lora_path");
        }
        lock (_gate)
            _adapters[name] = (weights, folder);
    }

    /// <summary>
    /// The adapter in <paramref name="folder"/> read through the model's LoRA layers, which check its base, layers and
    /// shapes (the first adapter attaches them), and copied out: one (A, B) per layer, in the layers' order.
    /// </summary>
    IReadOnlyList<(Tensor A, Tensor B)> ReadWeights(string folder)
    {
        var config = ModelFolder.CheckAdapter(folder).Config;
        if (Base.Lora is null)
            Base.LoadAdapter(folder);
        else
        {
            ModelFolder.CheckAdapterBase(folder, config, Base.Path);
            var held = Base.Lora.Options;
            if (config.Options.Rank != held.Rank || config.Options.Scale != held.Scale)
                throw new InvalidOperationException(
                    $"it has rank {config.Options.Rank} and scale {config.Options.Scale} where this server's adapters have rank {held.Rank} and scale {held.Scale} " +
                    "(all adapters share the base's LoRA layers); serve it from another grpo serve.");
            Base.Lora.LoadWeights(folder);
        }
        _active = null;   // the layers now hold the new adapter's matrices, not the active one's
        return [.. Base.Lora!.Layers.Select(l => (l.Layer.lora!.A.detach().clone(), l.Layer.lora!.B.detach().clone()))];
    }

    /// <summary>Unloads the adapter <paramref name="name"/> and frees its matrices; a 404 when none is loaded by that name.</summary>
    public void UnloadAdapter(string name)
    {
        IReadOnlyList<(Tensor A, Tensor B)> weights;
        lock (_gate)
        {
            if (!_adapters.Remove(name, out var adapter))
                throw OpenAiError.NotFound($"The lora adapter '{name}' cannot be found.", "lora_name");
            weights = adapter.Weights;
        }
        if (_active == name) _active = null;
        Free(weights);
    }

    static void Free(IReadOnlyList<(Tensor A, Tensor B)> weights)
    {
        foreach (var (a, b) in weights)
        {
            a.Dispose();
            b.Dispose();
        }
    }

    /// <summary>The full path of <paramref name="path"/>, refused (403) unless it lies inside the adapter root, links resolved.</summary>
    string AllowedFolder(string path)
    {
        if (_adapterRoot is null)
            throw new OpenAiError(StatusCodes.Status403Forbidden, "PermissionDenied",
                "This server loads no adapters: start grpo serve with --adapter-root DIR to allow loading adapters from DIR.", "lora_path");
        var full = System.IO.Path.GetFullPath(path, _adapterRoot);
        // A link inside the root may point anywhere: judge where it leads.
        var target = Directory.Exists(full) ? new DirectoryInfo(full).ResolveLinkTarget(returnFinalTarget: true)?.FullName ?? full : full;
        foreach (var candidate in new[] { full, target })
            if (!System.IO.Path.GetFullPath(candidate).StartsWith(_adapterRoot + System.IO.Path.DirectorySeparatorChar, StringComparison.Ordinal))
                throw new OpenAiError(StatusCodes.Status403Forbidden, "PermissionDenied",
                    $"'{full}' lies outside the adapter root '{_adapterRoot}' (--adapter-root); save adapters there.", "lora_path");
        return full;
    }

    public void Dispose()
    {
        lock (_gate)
        {
            foreach (var (weights, _) in _adapters.Values) Free(weights);
            _adapters.Clear();
        }
        Base.Dispose();
    }
}
