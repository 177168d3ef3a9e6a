using Grpo.Modeling;
using TorchSharp.PyBridge;
using static TorchSharp.torch;

namespace Grpo.Tests.Modeling;

/// <summary>
/// The reference values transformers 5.17 wrote beside each checkpoint of Fixtures/hf-reference
/// (reference.safetensors; see its README): two left-padded rows of ids with their attention mask, transformers' logits
/// over them, its greedy tokens. The CPU tests (<c>TransformersParityTests</c>) and the GPU check program
/// (linked in) compare with them the same way, through these.
/// </summary>
internal static class HfReference
{
    /// <summary>The reference tensors of the fixture in <paramref name="folder"/>, by name (input_ids, attention_mask, logits, greedy, ...).</summary>
    public static Dictionary<string, Tensor> Load(string folder) => Safetensors.LoadStateDict(Path.Combine(folder, "reference.safetensors"));

    /// <summary>
    /// The largest |logit - expected| of <paramref name="model"/>'s forward pass over <paramref name="ids"/> on its own
    /// device, compared in float32 on the CPU. With <paramref name="mask"/> (left padding), positions it marks as
    /// padding are left out: transformers' logits there carry no meaning.
    /// </summary>
    public static float MaxLogitDiff(CausalLM model, Tensor ids, Tensor? mask, Tensor expected)
    {
        using var scope = NewDisposeScope();
        using var noGrad = no_grad();
        var device = model.Device;
        var logits = model.Logits(model.HiddenStates(ids.to(device), mask?.to(device))).to(ScalarType.Float32).cpu();
        var diff = (logits - expected).abs();
        if (mask is not null) diff = diff.masked_fill(mask.to(ScalarType.Bool).unsqueeze(-1).logical_not(), 0);
        return diff.max().item<float>();
    }

    /// <summary>The reference's rows of input_ids with their left padding removed: the prompts transformers generated from.</summary>
    public static List<int[]> Prompts(Dictionary<string, Tensor> reference)
    {
        var ids = reference["input_ids"].data<long>().ToArray();
        var mask = reference["attention_mask"].data<long>().ToArray();
        int rows = (int)reference["input_ids"].shape[0], length = (int)reference["input_ids"].shape[1];
        return Enumerable.Range(0, rows)
            .Select(row => Enumerable.Range(0, length).Where(j => mask[row * length + j] == 1).Select(j => (int)ids[row * length + j]).ToArray())
            .ToList();
    }
}
