using System.Text.Json;
using Grpo.Tokenization;
using Microsoft.AspNetCore.Http;

namespace Grpo.Cli.Serve;

/// <summary>
/// What <c>grpo serve</c> serves: the base model under its served name and the LoRA adapters loaded by name
/// (vLLM's <c>/v1/load_lora_adapter</c>), each named as <c>model</c> in a request.
/// </summary>
/// <remarks>
/// <para>A model takes one adapter (<see cref="Grpo.Lora.LoraModel"/>), so each adapter sits on its own copy of the
/// base weights: memory grows by one model per loaded adapter, bounded by <c>--max-loras</c>. A trainer publishing
/// policies loads the new one, then unloads the old, so two suffice.</para>
/// <para>Loading and unloading run on the scheduler's thread, between batches, so no batch ever decodes on a model
/// that is being replaced or freed; the name checks a request makes on arrival only read, under a lock.</para>
/// </remarks>
sealed class ServedModels : IDisposable
{
    readonly object _gate = new();
    readonly Dictionary<string, (ModelFolder Folder, string Path)> _adapters = [];
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

    /// <summary>The folder whose model decodes requests for <paramref name="name"/>; a 404 when it was unloaded meanwhile.</summary>
    public ModelFolder Resolve(string name)
    {
        if (name == BaseName) return Base;
        lock (_gate)
            if (_adapters.TryGetValue(name, out var adapter)) return adapter.Folder;
        throw OpenAiError.NotFound($"The model `{name}` does not exist (it was unloaded).", "model");
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

        var copy = ModelFolder.Open(Base.Path, 1, "max_tokens", (Base.Model.Device, Base.Model.Dtype));
        try
        {
            copy.LoadAdapter(folder);
        }
        catch (Exception e)
        {
            copy.Dispose();
            if (e is IOException or InvalidDataException or JsonException or ArgumentException or InvalidOperationException)
                throw OpenAiError.BadRequest($"The adapter in '{folder}' does not fit this model: {e.Message}", "lora_path");
            throw;
        }
        lock (_gate)
            _adapters[name] = (copy, folder);
    }

    /// <summary>Unloads the adapter <paramref name="name"/> and frees its weights; a 404 when none is loaded by that name.</summary>
    public void UnloadAdapter(string name)
    {
        ModelFolder folder;
        lock (_gate)
        {
            if (!_adapters.Remove(name, out var adapter))
                throw OpenAiError.NotFound($"The lora adapter '{name}' cannot be found.", "lora_name");
            folder = adapter.Folder;
        }
        folder.Dispose();
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
            foreach (var (folder, _) in _adapters.Values) folder.Dispose();
            _adapters.Clear();
        }
        Base.Dispose();
    }
}
