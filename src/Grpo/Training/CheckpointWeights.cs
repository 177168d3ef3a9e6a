using Grpo.Lora;
using Grpo.Modeling;
using static TorchSharp.torch;

namespace Grpo.Training;

/// <summary>
/// The trained weights as a checkpoint holds them: the LoRA adapter in PEFT layout, or, when every weight trains, the
/// whole model in the Hugging Face layout.
/// </summary>
public sealed class CheckpointWeights
{
    private readonly CausalLM _model;
    private readonly LoraModel? _adapter;

    /// <summary>The weights of <paramref name="model"/> that train: <paramref name="adapter"/>'s, or all of them when it is null.</summary>
    public CheckpointWeights(CausalLM model, LoraModel? adapter)
    {
        ArgumentNullException.ThrowIfNull(model);
        (_model, _adapter) = (model, adapter);
    }

    /// <summary>The weights the optimizer updates.</summary>
    public IReadOnlyList<TorchSharp.Modules.Parameter> Trainable =>
        _adapter?.TrainableParameters() ?? _model.parameters().Where(p => p.requires_grad).ToList();

    /// <summary>Writes the weights into the checkpoint folder <paramref name="dir"/>.</summary>
    public void Save(string dir)
    {
        if (_adapter is null) Checkpoint.Save(_model, Path.Combine(dir, TrainingCheckpoint.ModelFolderName));
        else _adapter.Save(Path.Combine(dir, TrainingCheckpoint.AdapterFolderName));
    }

    /// <summary>Replaces the weights in memory with those of the checkpoint folder <paramref name="dir"/>.</summary>
    public void Load(string dir)
    {
        using var noGrad = no_grad();
        if (_adapter is not null)
        {
            _adapter.LoadWeights(Path.Combine(dir, TrainingCheckpoint.AdapterFolderName));
            return;
        }
        using var saved = Checkpoint.Load(Path.Combine(dir, TrainingCheckpoint.ModelFolderName), _model.Device, _model.Dtype);
        var byName = saved.named_parameters().ToDictionary(p => p.name, p => p.parameter);
        foreach (var (name, parameter) in _model.named_parameters()) parameter.copy_(byName[name]);
    }
}
