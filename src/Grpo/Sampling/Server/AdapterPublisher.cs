using Grpo.Lora;
using static TorchSharp.torch;

namespace Grpo.Sampling.Server;

/// <summary>
/// Writes versions of the trained adapter as PEFT folders (<c>adapter_config.json</c>, <c>adapter_model.safetensors</c>)
/// under one shared folder, for servers to hot-load by name. A version is written into a temporary folder and renamed
/// into place, so a server never sees a half-written adapter under a published name.
/// </summary>
internal sealed class AdapterPublisher(LoraModel lora, string adapterDir, string runName)
{
    /// <summary>The version's name, also its folder's: <c>RUNNAME-step-N</c> for the policy after N optimizer steps.</summary>
    public string Name(int step) => $"{runName}-step-{step}";

    /// <summary>The folder of version <paramref name="name"/>, as an absolute path (the servers resolve it, not this process).</summary>
    public string PathOf(string name) => Path.GetFullPath(Path.Combine(adapterDir, name));

    /// <summary>Writes the adapter as it is now as the version of step <paramref name="step"/> and returns its name.</summary>
    public string Save(int step)
    {
        var name = Name(step);
        var final = PathOf(name);
        var temp = PathOf($".{name}.tmp");
        Directory.CreateDirectory(Path.GetDirectoryName(final)!);
        if (Directory.Exists(temp)) Directory.Delete(temp, recursive: true);
        lora.Save(temp);
        // A resumed run publishes a step again; its weights are the same, the folder is replaced whole.
        if (Directory.Exists(final)) Directory.Delete(final, recursive: true);
        Directory.Move(temp, final);
        return name;
    }

    /// <summary>Deletes version <paramref name="name"/>'s folder once no server uses it.</summary>
    public void Remove(string name)
    {
        var path = PathOf(name);
        if (Directory.Exists(path)) Directory.Delete(path, recursive: true);
    }

    /// <summary>
    /// Whether the adapter is still as <see cref="LoraModel.Apply"/> made it (every B zero): it then changes nothing,
    /// and the base model itself serves the first step without an adapter load.
    /// </summary>
    public bool IsIdentity()
    {
        using var scope = NewDisposeScope();
        return lora.Layers.All(l => !l.Layer.lora!.B.any().item<bool>());
    }
}
