using Grpo.Lora;
using Grpo.Modeling;

namespace Grpo.Training;

/// <summary>
/// The reference policy π_ref of GRPO's KL penalty: the base model with the LoRA adapter switched off (no second copy
/// of the weights), or, when every weight trains, a frozen copy of the starting model (<see cref="FrozenCopy.Of"/>).
/// TRL's <c>sync_ref_model</c> (moving the reference towards the policy during training) is not offered: a LoRA run's
/// reference is always the base model it started from.
/// </summary>
public sealed class KlReference
{
    private readonly LoraModel? _adapter;

    private KlReference(CausalLM model, LoraModel? adapter) => (Model, _adapter) = (model, adapter);

    /// <summary>The model whose log-probs are the reference (with <see cref="Use"/> in effect).</summary>
    public CausalLM Model { get; }

    /// <summary>The base under <paramref name="adapter"/>: <paramref name="model"/> with the adapter disabled.</summary>
    public static KlReference AdapterOff(CausalLM model, LoraModel adapter)
    {
        ArgumentNullException.ThrowIfNull(model);
        ArgumentNullException.ThrowIfNull(adapter);
        return new(model, adapter);
    }

    /// <summary>A separate model that never trains, e.g. <c>FrozenCopy.Of(policy, ...)</c> when fine-tuning every weight.</summary>
    public static KlReference Frozen(CausalLM frozen)
    {
        ArgumentNullException.ThrowIfNull(frozen);
        if (frozen.parameters().Any(p => p.requires_grad))
            throw new ArgumentException("The reference model has trainable weights; freeze it (FrozenCopy.Of does) so it stays the starting policy.", nameof(frozen));
        return new(frozen, null);
    }

    /// <summary>
    /// The reference a policy implies: the adapter-off base when there is an adapter, else <paramref name="frozenCopy"/>.
    /// Throws when neither exists, so "β &gt; 0 needs a reference" is decided before training.
    /// </summary>
    public static KlReference For(CausalLM policy, LoraModel? adapter, CausalLM? frozenCopy) =>
        adapter is not null ? AdapterOff(policy, adapter)
        : frozenCopy is not null ? Frozen(frozenCopy)
        : throw new ArgumentException(
            "β > 0 without an adapter needs an explicit reference model: pass a frozen copy of the starting model " +
            "(FrozenCopy.Of(model, ...)), or train a LoRA adapter, whose base is the reference.", nameof(frozenCopy));

    /// <summary>Puts the model in eval mode and, for an adapter's base, switches the adapter off until the scope is disposed.</summary>
    internal IDisposable? Use()
    {
        Model.eval();
        return _adapter?.Disabled();
    }
}
