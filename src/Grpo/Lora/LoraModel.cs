using Linear = Grpo.Modeling.Linear;
using Parameter = TorchSharp.Modules.Parameter;
using static TorchSharp.torch;

namespace Grpo.Lora;

/// <summary>
/// LoRA adapters on a model's linear layers, and the handle to them: which layers, which parameters to train, a scope
/// that switches them off (the frozen base is then the KL reference, so no second copy of the weights is kept), merging
/// into the base weights for inference, and saving / loading in Hugging Face PEFT's layout.
/// </summary>
/// <remarks>
/// <para>Targets are found by module path (<c>named_modules()</c>), so any module tree built of
/// <see cref="Grpo.Modeling.Linear"/> works. Adapting freezes every parameter of the model (requires_grad false, as
/// PEFT does); only the adapters' A and B train. A model takes one adapter: build a fresh model to try another.</para>
/// <para>Over a bfloat16 or float16 base the adapters, their gradients and so AdamW's moments are float32, while the
/// frozen base stays in its half precision: PEFT's default (<c>autocast_adapter_dtype=True</c>). <see cref="Save"/>
/// writes them as float32 too, as PEFT's <c>save_pretrained</c> does for such a model.</para>
/// <para>Full fine-tuning needs no adapter: leave the model unadapted (its parameters stay trainable) and keep the KL
/// reference as an explicit frozen copy, made with <see cref="FrozenCopy.Of{T}"/>.</para>
/// <para>Every public method checks its input completely before it changes the model, so a refused call leaves the
/// model as it was.</para>
/// </remarks>
public sealed class LoraModel
{
    readonly List<(string Path, Linear Layer)> layers;
    int disabledScopes;

    LoraModel(nn.Module model, LoraOptions options, string? baseModelNameOrPath, List<(string Path, Linear Layer)> layers)
    {
        Model = model;
        Options = options;
        BaseModelNameOrPath = baseModelNameOrPath;
        this.layers = layers;
    }

    /// <summary>The adapted model (adapted in place).</summary>
    public nn.Module Model { get; }

    /// <summary>The adapters' rank, alpha, dropout, targets and scaling.</summary>
    public LoraOptions Options { get; }

    /// <summary>The base checkpoint written into <c>adapter_config.json</c>, or null when unknown.</summary>
    public string? BaseModelNameOrPath { get; }

    /// <summary>The adapted layers by module path, in module order.</summary>
    public IReadOnlyList<(string Path, Linear Layer)> Layers => layers;

    /// <summary>Whether the adapters are currently folded into the base weights (see <see cref="Merge"/>).</summary>
    public bool IsMerged { get; private set; }

    /// <summary>The parameters an optimizer should train: A and B of every adapter (read fresh, since to() replaces them).</summary>
    public IReadOnlyList<Parameter> TrainableParameters() =>
        layers.SelectMany(l => new[] { l.Layer.lora!.A, l.Layer.lora!.B }).ToList();

    /// <summary>Number of trainable values: r·(in + out) per adapted layer.</summary>
    public long TrainableParameterCount => TrainableParameters().Sum(p => p.numel());

    /// <summary>
    /// Adds fresh adapters (A Kaiming-uniform, B zero: the model's outputs are unchanged) to the layers that
    /// <paramref name="options"/> target and freezes everything else. <paramref name="baseModelNameOrPath"/> is recorded
    /// for <see cref="Save"/>. Throws <see cref="ArgumentException"/> for bad options or targets and
    /// <see cref="InvalidOperationException"/> when the model already has adapters.
    /// </summary>
    public static LoraModel Apply(nn.Module model, LoraOptions options, string? baseModelNameOrPath = null)
    {
        ArgumentNullException.ThrowIfNull(model);
        ArgumentNullException.ThrowIfNull(options);
        options.Validate();
        var targets = LoraTargets.Resolve(model, options.TargetModules).ToList();
        RefuseIfAdapted(model);
        return Attach(model, options, baseModelNameOrPath, targets);
    }

    /// <summary>
    /// Adds the adapter saved in <paramref name="directory"/> (PEFT layout: <c>adapter_config.json</c> and
    /// <c>adapter_model.safetensors</c>) to <paramref name="model"/>, on each base weight's device, in float32 over a
    /// half-precision base (<see cref="LoraAdapter.DtypeFor"/>) whatever dtype the file holds.
    /// When <paramref name="baseModelNameOrPath"/> is given and the config names a different base, the load is refused:
    /// PEFT only warns, but an adapter on a base of the same shapes with other weights computes silently wrong
    /// outputs. Pass null to skip that check (e.g. the same checkpoint under another path). Throws before changing the
    /// model when a file is missing or malformed, a layer is missing or has other shapes, or the model already has adapters.
    /// </summary>
    public static LoraModel Load(nn.Module model, string directory, string? baseModelNameOrPath = null)
    {
        ArgumentNullException.ThrowIfNull(model);
        var config = PeftAdapterConfig.Read(directory);
        if (baseModelNameOrPath is not null && config.BaseModelNameOrPath is not null && config.BaseModelNameOrPath != baseModelNameOrPath)
            throw new InvalidOperationException(
                $"The adapter in \"{directory}\" was trained on \"{config.BaseModelNameOrPath}\", not on \"{baseModelNameOrPath}\". " +
                "Load it onto that base model, or pass baseModelNameOrPath: null if it is the same checkpoint under another name.");
        RefuseIfAdapted(model);

        var weights = PeftAdapterWeights.Read(directory);
        try
        {
            var linears = model.named_modules().Where(m => m.module is Linear).ToDictionary(m => m.name, m => (Linear)m.module);
            var targets = new List<(string Path, Linear Layer)>();
            foreach (var (path, (a, b)) in weights)
            {
                if (!linears.TryGetValue(path, out var layer))
                    throw new InvalidOperationException(
                        $"The adapter in \"{directory}\" has weights for \"{path}\", which is not a Linear layer of this model; it was made for another architecture.");
                long outFeatures = layer.Weight.shape[0], inFeatures = layer.Weight.shape[1];
                long[] wantA = [config.Options.Rank, inFeatures], wantB = [outFeatures, config.Options.Rank];
                if (!a.shape.SequenceEqual(wantA) || !b.shape.SequenceEqual(wantB))
                    throw new InvalidOperationException(
                        $"The adapter in \"{directory}\" does not fit \"{path}\" (weight [{outFeatures}, {inFeatures}], r {config.Options.Rank}): " +
                        $"lora_A is [{string.Join(", ", a.shape)}] (want [{string.Join(", ", wantA)}]), lora_B is [{string.Join(", ", b.shape)}] (want [{string.Join(", ", wantB)}]). " +
                        "It was trained on a model of another size.");
                targets.Add((path, layer));
            }
            // Module order, as Apply gives, so Layers reads the same however the adapter arrived.
            var order = linears.Keys.Select((name, i) => (name, i)).ToDictionary(x => x.name, x => x.i);
            targets.Sort((x, y) => order[x.Path].CompareTo(order[y.Path]));

            var lora = Attach(model, config.Options, config.BaseModelNameOrPath ?? baseModelNameOrPath, targets);
            using (no_grad())
                foreach (var (path, layer) in targets)
                {
                    layer.lora!.A.copy_(weights[path].A);
                    layer.lora!.B.copy_(weights[path].B);
                }
            return lora;
        }
        finally
        {
            foreach (var (a, b) in weights.Values) { a.Dispose(); b.Dispose(); }
        }
    }

    /// <summary>
    /// Replaces this adapter's weights with those saved in <paramref name="directory"/> by <see cref="Save"/> (a
    /// training checkpoint's adapter), bit for bit. Throws before changing anything when the saved layers or shapes
    /// differ from this adapter's.
    /// </summary>
    public void LoadWeights(string directory)
    {
        var weights = PeftAdapterWeights.Read(directory);
        try
        {
            var saved = weights.Keys.Order().ToList();
            var mine = layers.Select(l => l.Path).Order().ToList();
            if (!saved.SequenceEqual(mine))
                throw new InvalidOperationException(
                    $"The adapter in \"{directory}\" covers other layers than this one ({saved.Count} saved, {mine.Count} here); it belongs to another run.");
            foreach (var (path, layer) in layers)
            {
                var (a, b) = weights[path];
                if (!a.shape.SequenceEqual(layer.lora!.A.shape) || !b.shape.SequenceEqual(layer.lora!.B.shape))
                    throw new InvalidOperationException($"The adapter in \"{directory}\" has other shapes at \"{path}\" (another rank?); it belongs to another run.");
            }
            using (no_grad())
                foreach (var (path, layer) in layers)
                {
                    layer.lora!.A.copy_(weights[path].A);
                    layer.lora!.B.copy_(weights[path].B);
                }
        }
        finally
        {
            foreach (var (a, b) in weights.Values) { a.Dispose(); b.Dispose(); }
        }
    }

    /// <summary>
    /// Writes <c>adapter_config.json</c> and <c>adapter_model.safetensors</c> in PEFT's layout into
    /// <paramref name="directory"/> (created if missing), loadable by PEFT's <c>PeftModel.from_pretrained</c>, vLLM and
    /// <see cref="Load"/>.
    /// </summary>
    public void Save(string directory)
    {
        Directory.CreateDirectory(directory);
        var config = new PeftAdapterConfig { Options = Options, BaseModelNameOrPath = BaseModelNameOrPath };
        config.Write(directory, layers.Select(l => LoraTargets.LeafName(l.Path)).Distinct());
        PeftAdapterWeights.Write(directory, layers.Select(l => (l.Path, l.Layer.lora!)));
    }

    /// <summary>
    /// Switches every adapter off until the returned scope is disposed, which restores each one's previous state, also
    /// when leaving by an exception; scopes nest. Inside, the model computes exactly the base model, which is how the
    /// trainer gets reference log-probs. Throws <see cref="InvalidOperationException"/> while merged: the base weights
    /// then hold the adapters, and taking them out and back in would not restore them bit for bit, so call
    /// <see cref="Unmerge"/> first.
    /// </summary>
    public IDisposable Disabled()
    {
        if (IsMerged)
            throw new InvalidOperationException("The adapters are merged into the base weights, so switching them off cannot give the base model; call Unmerge() first.");
        return new DisabledScope(this);
    }

    /// <summary>
    /// Adds scale·B·A into each adapted base weight, so inference runs at the base model's cost; outputs agree with the
    /// unmerged model to float rounding. Training while merged updates nothing the forward pass uses: unmerge first.
    /// Throws <see cref="InvalidOperationException"/> when already merged or inside <see cref="Disabled"/>.
    /// </summary>
    public void Merge()
    {
        if (IsMerged) throw new InvalidOperationException("The adapters are already merged; call Unmerge() before merging again.");
        if (disabledScopes > 0) throw new InvalidOperationException("Cannot merge inside a Disabled() scope: the scope promises the base model. Merge after disposing it.");
        Fold(+1);
        IsMerged = true;
    }

    /// <summary>Subtracts scale·B·A from each adapted base weight again, restoring it to within float rounding.</summary>
    public void Unmerge()
    {
        if (!IsMerged) throw new InvalidOperationException("The adapters are not merged; there is nothing to unmerge.");
        Fold(-1);
        IsMerged = false;
    }

    void Fold(int sign)
    {
        using var scope = NewDisposeScope();
        using var noGrad = no_grad();
        foreach (var (_, layer) in layers)
        {
            var adapter = layer.lora!;
            // The delta in float32 even for half-precision weights, so merging adds one rounding, not two.
            var delta = adapter.B.to(ScalarType.Float32).matmul(adapter.A.to(ScalarType.Float32)).mul_(sign * adapter.Scale);
            layer.Weight.add_(delta.to(layer.Weight.dtype));
            adapter.Merged = sign > 0;
        }
    }

    static void RefuseIfAdapted(nn.Module model)
    {
        var adapted = model.named_modules().FirstOrDefault(m => m.module is Linear { lora: not null });
        if (adapted.module is not null)
            throw new InvalidOperationException(
                $"This model already has LoRA adapters (e.g. on \"{adapted.name}\"); a model takes one adapter. Build a fresh model to apply or load another.");
    }

    static LoraModel Attach(nn.Module model, LoraOptions options, string? baseModelNameOrPath, List<(string Path, Linear Layer)> targets)
    {
        foreach (var p in model.parameters()) p.requires_grad = false;
        // The adapters draw from TorchSharp's process-wide generator, seeded for them and restored afterwards.
        using var callersState = random.get_rng_state();
        random.manual_seed(options.Seed);
        foreach (var (_, layer) in targets)
        {
            var w = layer.Weight;
            layer.AttachLora(new LoraAdapter(w.shape[1], w.shape[0], options.Rank, options.Scale, options.Dropout, LoraAdapter.DtypeFor(w.dtype), w.device));
        }
        random.set_rng_state(callersState);
        return new LoraModel(model, options, baseModelNameOrPath, targets);
    }

    sealed class DisabledScope : IDisposable
    {
        readonly LoraModel owner;
        readonly bool[] wasEnabled;
        bool disposed;

        public DisabledScope(LoraModel owner)
        {
            this.owner = owner;
            wasEnabled = owner.layers.Select(l => l.Layer.lora!.Enabled).ToArray();
            foreach (var (_, layer) in owner.layers) layer.lora!.Enabled = false;
            owner.disabledScopes++;
        }

        public void Dispose()
        {
            if (disposed) return;
            disposed = true;
            for (var i = 0; i < wasEnabled.Length; i++) owner.layers[i].Layer.lora!.Enabled = wasEnabled[i];
            owner.disabledScopes--;
        }
    }
}
