using TorchSharp.PyBridge;
using static TorchSharp.torch;

namespace Grpo.Lora;

/// <summary>
/// <c>adapter_model.safetensors</c> of a Hugging Face PEFT LoRA adapter: one A and one B per adapted layer, under
/// PEFT's saved names <c>base_model.model.&lt;module path&gt;.lora_A.weight</c> / <c>.lora_B.weight</c> (no adapter
/// name), A: [r, in], B: [out, r].
/// </summary>
public static class PeftAdapterWeights
{
    /// <summary>The file name inside an adapter folder.</summary>
    public const string FileName = "adapter_model.safetensors";

    /// <summary>What PEFT puts before a module path: its PeftModel wraps the LoraModel wrapping the base model.</summary>
    public const string KeyPrefix = "base_model.model.";

    const string SuffixA = ".lora_A.weight", SuffixB = ".lora_B.weight";

    /// <summary>The saved name of the A matrix of the layer at <paramref name="modulePath"/>.</summary>
    public static string KeyA(string modulePath) => KeyPrefix + modulePath + SuffixA;

    /// <summary>The saved name of the B matrix of the layer at <paramref name="modulePath"/>.</summary>
    public static string KeyB(string modulePath) => KeyPrefix + modulePath + SuffixB;

    /// <summary>
    /// Reads the file in <paramref name="directory"/> into CPU tensors, by module path. Throws
    /// <see cref="InvalidDataException"/> for a key that is not a LoRA A / B weight or a layer with only one of the two.
    /// The caller owns (disposes) the tensors.
    /// </summary>
    public static Dictionary<string, (Tensor A, Tensor B)> Read(string directory)
    {
        var path = Path.Combine(directory, FileName);
        if (!File.Exists(path))
            throw new FileNotFoundException($"No {FileName} in \"{directory}\"; a PEFT LoRA adapter folder holds {PeftAdapterConfig.FileName} and {FileName}.", path);

        Dictionary<string, Tensor> tensors;
        try { tensors = Safetensors.LoadStateDict(path); }
        catch (Exception e) when (e is not OutOfMemoryException)
        {
            throw new InvalidDataException($"{path} is not a readable safetensors file: {e.Message}", e);
        }

        var a = new Dictionary<string, Tensor>();
        var b = new Dictionary<string, Tensor>();
        string? problem = null;
        foreach (var (key, tensor) in tensors)
        {
            var side = key.EndsWith(SuffixA, StringComparison.Ordinal) ? a : key.EndsWith(SuffixB, StringComparison.Ordinal) ? b : null;
            if (side is null || !key.StartsWith(KeyPrefix, StringComparison.Ordinal))
            {
                problem ??= $"\"{key}\" is not a LoRA weight named {KeyA("<module path>")} or {KeyB("<module path>")}; Grpo loads lora_A / lora_B weights only.";
                continue;
            }
            side[key[KeyPrefix.Length..^SuffixA.Length]] = tensor;
        }
        problem ??= a.Keys.Concat(b.Keys).FirstOrDefault(p => !a.ContainsKey(p) || !b.ContainsKey(p)) is { } half
            ? $"layer \"{half}\" has {(a.ContainsKey(half) ? "lora_A but no lora_B" : "lora_B but no lora_A")}."
            : a.Count == 0 ? "it holds no LoRA weights." : null;
        if (problem is not null)
        {
            foreach (var t in tensors.Values) t.Dispose();
            throw new InvalidDataException($"{path}: {problem}");
        }
        return a.ToDictionary(kv => kv.Key, kv => (kv.Value, b[kv.Key]));
    }

    /// <summary>Writes the adapters' A and B under PEFT's names into <paramref name="directory"/>, keys sorted.</summary>
    public static void Write(string directory, IEnumerable<(string Path, LoraAdapter Adapter)> layers)
    {
        using var scope = NewDisposeScope();  // frees the CPU copies
        var state = new Dictionary<string, Tensor>();
        foreach (var (modulePath, adapter) in layers.OrderBy(l => l.Path, StringComparer.Ordinal))
        {
            state[KeyA(modulePath)] = adapter.A.detach().cpu().contiguous();
            state[KeyB(modulePath)] = adapter.B.detach().cpu().contiguous();
        }
        // File.Create truncates, so a shorter file never keeps a longer predecessor's tail.
        using var stream = File.Create(Path.Combine(directory, FileName));
        Safetensors.SaveStateDict(stream, state);
    }
}
