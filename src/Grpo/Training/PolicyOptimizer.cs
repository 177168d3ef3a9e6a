using TorchSharp;
using TorchSharp.Modules;
using static TorchSharp.torch;

namespace Grpo.Training;

/// <summary>
/// AdamW over the trainable weights (the LoRA adapter, or every weight), with global gradient-norm clipping
/// (<c>max_grad_norm</c>) and a learning rate set per step by the run's schedule. Its state is part of a checkpoint.
/// </summary>
public sealed class PolicyOptimizer : IDisposable
{
    private readonly AdamW _adamW;
    private readonly double _maxGradNorm;

    /// <summary>AdamW over <paramref name="trainable"/> with the AdamW and clipping settings of <paramref name="options"/>.</summary>
    public PolicyOptimizer(IReadOnlyList<Parameter> trainable, GrpoOptions options)
    {
        ArgumentNullException.ThrowIfNull(trainable);
        ArgumentNullException.ThrowIfNull(options);
        if (trainable.Count == 0)
            throw new ArgumentException("The model has no trainable weights. Apply a LoRA adapter (LoraModel.Apply) or unfreeze the model.", nameof(trainable));
        Parameters = trainable;
        // 0 means no clipping (TRL/transformers skip the clip); libtorch would scale every gradient to 0, so clip at infinity instead.
        _maxGradNorm = options.MaxGradNorm == 0 ? double.PositiveInfinity : options.MaxGradNorm;
        _adamW = optim.AdamW(trainable, options.LearningRate, options.AdamBeta1, options.AdamBeta2, options.AdamEpsilon, options.WeightDecay);
    }

    /// <summary>The weights it updates.</summary>
    public IReadOnlyList<Parameter> Parameters { get; }

    /// <summary>Clips the accumulated gradients to the maximum norm and returns their norm before clipping (<c>grad_norm</c>).</summary>
    public double ClipGradients() => nn.utils.clip_grad_norm_(Parameters, _maxGradNorm);

    /// <summary>One AdamW update at <paramref name="learningRate"/>, then clears the gradients.</summary>
    public void Step(double learningRate)
    {
        foreach (var group in _adamW.ParamGroups) group.LearningRate = learningRate;
        _adamW.step();
        _adamW.zero_grad();
    }

    /// <summary>Drops the accumulated gradients without updating (a refused step).</summary>
    public void ZeroGrad() => _adamW.zero_grad();

    /// <summary>True when every trained weight is finite.</summary>
    public bool WeightsAreFinite()
    {
        using var scope = NewDisposeScope();
        return Parameters.All(p => p.isfinite().all().item<bool>());
    }

    /// <summary>
    /// AdamW's first and second moments of every weight it has stepped (none before the first step). They take each
    /// weight's dtype, so LoRA adapters over a bfloat16 base keep float32 moments.
    /// </summary>
    internal IEnumerable<Tensor> Moments() =>
        _adamW.state_dict().State.OfType<AdamW.State>().SelectMany(s => new[] { s.exp_avg, s.exp_avg_sq, s.max_exp_avg_sq }).OfType<Tensor>();

    /// <summary>Writes the optimizer's moments and step counts (TorchSharp's format).</summary>
    public void Save(string path)
    {
        MomentsRowMajor();
        _adamW.save_state_dict(path);
    }

    /// <summary>Restores what <see cref="Save"/> wrote.</summary>
    public void Load(string path)
    {
        MomentsRowMajor();
        _adamW.load_state_dict(path);
    }

    /// <summary>
    /// AdamW's moments take their weight's strides, so a column-major weight (Grpo.Modeling.WeightLayout, full
    /// fine-tuning) has column-major moments, which TorchSharp's format can neither write nor read: lay them out
    /// row-major first, in place, keeping their values.
    /// </summary>
    private void MomentsRowMajor()
    {
        using var noGrad = no_grad();
        foreach (var moment in Moments().Where(m => !m.is_contiguous()))
        {
            using var rowMajor = moment.contiguous();
            moment.set_(rowMajor);
        }
    }

    /// <inheritdoc/>
    public void Dispose() => _adamW.Dispose();
}
