using Grpo.Modeling;
using static TorchSharp.torch;

namespace Grpo.Lora;

/// <summary>
/// Finds the linear layers that LoRA target names select, by module path alone (never by model class), with PEFT's
/// rule: a name selects the modules whose path equals it or ends with "." + it; "all-linear" selects every
/// <see cref="Linear"/> but the output head.
/// </summary>
public static class LoraTargets
{
    /// <summary>The output head, which "all-linear" leaves out as PEFT does (its adapter would be vocabulary-sized).</summary>
    public const string OutputHead = "lm_head";

    /// <summary>
    /// The (path, layer) pairs selected by <paramref name="targets"/>, in module order. Throws
    /// <see cref="ArgumentException"/> when a name selects no <see cref="Linear"/>, naming what it did select or
    /// which linear layers exist.
    /// </summary>
    public static IReadOnlyList<(string Path, Linear Layer)> Resolve(nn.Module model, IReadOnlyList<string> targets)
    {
        var modules = model.named_modules().ToList();
        var linears = modules.Where(m => m.module is Linear).Select(m => (m.name, (Linear)m.module)).ToList();

        if (targets.Count == 1 && targets[0] == LoraOptions.AllLinear)
        {
            var all = linears.Where(l => LeafName(l.name) != OutputHead).ToList();
            if (all.Count == 0)
                throw new ArgumentException($"\"{LoraOptions.AllLinear}\" found no Grpo.Modeling.Linear layer (other than {OutputHead}) in this model.", nameof(targets));
            return all;
        }

        foreach (var target in targets)
        {
            if (linears.Any(l => Selects(target, l.name))) continue;
            var other = modules.FirstOrDefault(m => Selects(target, m.name));
            var known = string.Join(", ", linears.Select(l => LeafName(l.name)).Distinct().Take(20));
            throw new ArgumentException(other.module is not null
                ? $"LoRA target \"{target}\" selects \"{other.name}\", a {other.module.GetType().Name}, not a Linear layer; LoRA adapts Linear layers only, so name the projections inside it. Linear layers here: {known}."
                : $"LoRA target \"{target}\" matches no module of this model. Linear layers here: {(known.Length > 0 ? known : "none")}.",
                nameof(targets));
        }
        return linears.Where(l => targets.Any(t => Selects(t, l.name))).ToList();
    }

    /// <summary>The last segment of a module path: "q_proj" for "model.layers.0.self_attn.q_proj".</summary>
    public static string LeafName(string path) => path[(path.LastIndexOf('.') + 1)..];

    static bool Selects(string target, string path) => path == target || path.EndsWith("." + target, StringComparison.Ordinal);
}
