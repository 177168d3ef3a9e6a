namespace Grpo.Lora;

/// <summary>
/// How LoRA adapters are shaped and where they go. LoRA (Hu et al. 2021, "LoRA: Low-Rank Adaptation of Large Language
/// Models", arXiv:2106.09685) learns W + (alpha / r)·B·A for chosen linear layers while W stays frozen; rsLoRA
/// (Kalajdzievski 2023, "A Rank Stabilization Scaling Factor for Fine-Tuning with LoRA", arXiv:2312.03732) scales by
/// alpha / sqrt(r) instead, so higher ranks keep learning. Defaults follow Hugging Face PEFT's <c>LoraConfig</c>
/// except the targets, which name all seven projections of a Llama / Qwen block.
/// </summary>
public sealed record LoraOptions
{
    /// <summary>Target value meaning every <see cref="Grpo.Modeling.Linear"/> except the output head <c>lm_head</c>, as PEFT's "all-linear".</summary>
    public const string AllLinear = "all-linear";

    /// <summary>The attention and MLP projections of a Llama / Qwen decoder block.</summary>
    public static readonly IReadOnlyList<string> DecoderProjections =
        ["q_proj", "k_proj", "v_proj", "o_proj", "gate_proj", "up_proj", "down_proj"];

    /// <summary>Rank r of the update B·A (A: [r, in], B: [out, r]). Default 8 (PEFT).</summary>
    public int Rank { get; init; } = 8;

    /// <summary>alpha in the scale alpha / r (or alpha / sqrt(r) with <see cref="UseRsLora"/>). Default 8 (PEFT).</summary>
    public double Alpha { get; init; } = 8;

    /// <summary>Dropout probability on the adapter's input, in training mode only; the base path never drops. Default 0 (PEFT).</summary>
    public double Dropout { get; init; }

    /// <summary>
    /// Which linear layers get adapters, matched against module paths as PEFT does: a name matches a module whose path
    /// equals it or ends with "." + it (so "q_proj" and "self_attn.q_proj" both work), or the single value
    /// <see cref="AllLinear"/>. Every name must match at least one layer. Default <see cref="DecoderProjections"/>.
    /// </summary>
    public IReadOnlyList<string> TargetModules { get; init; } = DecoderProjections;

    /// <summary>Scale by alpha / sqrt(r) (rsLoRA) instead of alpha / r. Default false (PEFT).</summary>
    public bool UseRsLora { get; init; }

    /// <summary>
    /// Seed of the adapter's initialisation (A's Kaiming-uniform draw, made on the CPU in float32 and then moved, so
    /// every device starts from the same adapter). Default 42, like <c>GrpoOptions.Seed</c>: the same options give the
    /// same starting adapter, and <see cref="LoraModel.Apply"/> leaves TorchSharp's process-wide generator as it found
    /// it. Not part of PEFT's adapter_config.json; a loaded adapter is never re-initialised.
    /// </summary>
    public int Seed { get; init; } = 42;

    /// <summary>The factor applied to B·A·x: alpha / r, or alpha / sqrt(r) with rsLoRA.</summary>
    public double Scale => UseRsLora ? Alpha / Math.Sqrt(Rank) : Alpha / Rank;

    /// <summary>Throws <see cref="ArgumentException"/> naming the first option out of range.</summary>
    public void Validate()
    {
        if (Rank <= 0)
            throw new ArgumentException($"LoRA rank must be at least 1, got {Rank}. Typical ranks are 8 to 64.", nameof(Rank));
        if (!(Alpha > 0) || double.IsInfinity(Alpha))
            throw new ArgumentException($"LoRA alpha must be a positive number, got {Alpha}. A common choice is alpha = r or 2r.", nameof(Alpha));
        if (!(Dropout >= 0 && Dropout < 1))
            throw new ArgumentException($"LoRA dropout must be in [0, 1), got {Dropout}.", nameof(Dropout));
        if (TargetModules is null || TargetModules.Count == 0)
            throw new ArgumentException($"LoRA needs at least one target module, e.g. {string.Join(", ", DecoderProjections)} or \"{AllLinear}\".", nameof(TargetModules));
        if (TargetModules.Any(string.IsNullOrWhiteSpace))
            throw new ArgumentException("LoRA target module names must not be empty.", nameof(TargetModules));
        if (TargetModules.Contains(AllLinear) && TargetModules.Count > 1)
            throw new ArgumentException($"\"{AllLinear}\" already names every linear layer; give it alone, not with [{string.Join(", ", TargetModules)}].", nameof(TargetModules));
    }
}
