using static TorchSharp.torch;

namespace Grpo.Lora;

/// <summary>
/// The KL reference for full fine-tuning: a second, frozen instance of the model holding a copy of the policy's
/// weights at the start of training. (With LoRA no copy is needed: the reference is <see cref="LoraModel.Disabled"/>.)
/// </summary>
public static class FrozenCopy
{
    /// <summary>
    /// Builds a model with <paramref name="create"/> (same architecture, e.g. the loader called again), copies every
    /// parameter and buffer of <paramref name="source"/> into it, freezes it (requires_grad false) and puts it in eval
    /// mode. Throws <see cref="ArgumentException"/> naming the first tensor whose name or shape differs.
    /// </summary>
    public static T Of<T>(T source, Func<T> create) where T : nn.Module
    {
        ArgumentNullException.ThrowIfNull(source);
        ArgumentNullException.ThrowIfNull(create);
        var copy = create();
        var from = source.state_dict();
        var to = copy.state_dict();
        var missing = from.Keys.Except(to.Keys).Concat(to.Keys.Except(from.Keys)).FirstOrDefault();
        if (missing is not null)
            throw new ArgumentException($"The model made by create() does not match the source: \"{missing}\" exists in only one of them. create() must build the same architecture (a source with LoRA adapters needs no copy: use LoraModel.Disabled()).", nameof(create));
        var misfit = from.Keys.FirstOrDefault(k => !from[k].shape.SequenceEqual(to[k].shape));
        if (misfit is not null)
            throw new ArgumentException($"\"{misfit}\" is [{string.Join(", ", from[misfit].shape)}] in the source but [{string.Join(", ", to[misfit].shape)}] in the model made by create().", nameof(create));

        using (no_grad())
            foreach (var (name, tensor) in from) to[name].copy_(tensor);
        foreach (var p in copy.parameters()) p.requires_grad = false;
        copy.eval();
        return copy;
    }
}
