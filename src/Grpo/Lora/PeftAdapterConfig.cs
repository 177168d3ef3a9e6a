using System.Text.Json;
using System.Text.Json.Nodes;

namespace Grpo.Lora;

/// <summary>
/// <c>adapter_config.json</c> of a Hugging Face PEFT LoRA adapter: what Grpo reads from it, and the full file it
/// writes (every key PEFT 0.21.0 writes, sorted, so PEFT and vLLM load it without warnings). Features Grpo's LoRA layer
/// does not implement (DoRA, trained biases, per-module ranks, extra saved modules, ...) are refused on reading rather
/// than silently dropped.
/// </summary>
public sealed record PeftAdapterConfig
{
    /// <summary>The file name inside an adapter folder.</summary>
    public const string FileName = "adapter_config.json";

    /// <summary>The PEFT release whose output this layout was checked against (tests/Grpo.Tests/Fixtures/hf-reference).</summary>
    public const string PeftVersion = "0.21.0";

    /// <summary>r, alpha, dropout, targets and rsLoRA, as <see cref="LoraOptions"/>.</summary>
    public required LoraOptions Options { get; init; }

    /// <summary>The base checkpoint the adapter was trained on (hub id or path), or null when unknown.</summary>
    public string? BaseModelNameOrPath { get; init; }

    /// <summary>Reads and checks <c>adapter_config.json</c> in <paramref name="directory"/>.</summary>
    public static PeftAdapterConfig Read(string directory)
    {
        var path = Path.Combine(directory, FileName);
        if (!File.Exists(path))
            throw new FileNotFoundException($"No {FileName} in \"{directory}\"; a PEFT LoRA adapter folder holds {FileName} and adapter_model.safetensors.", path);

        JsonObject json;
        try { json = JsonNode.Parse(File.ReadAllText(path)) as JsonObject ?? throw new JsonException("the top level is not an object"); }
        catch (JsonException e) { throw new InvalidDataException($"{path} is not valid JSON: {e.Message}", e); }

        InvalidDataException bad(string what) => new($"{path}: {what}");
        try { return Parse(json, bad); }
        catch (Exception e) when (e is InvalidOperationException or FormatException)
        {
            throw bad($"a value has the wrong JSON type ({e.Message}); compare with a file written by PEFT.");
        }
    }

    static PeftAdapterConfig Parse(JsonObject json, Func<string, InvalidDataException> bad)
    {
        var peftType = json["peft_type"]?.GetValue<string>();
        if (peftType != "LORA")
            throw bad($"peft_type is \"{peftType}\"; Grpo loads LoRA adapters (peft_type \"LORA\") only.");
        var taskType = json["task_type"]?.GetValue<string>();
        if (taskType is not null && taskType != "CAUSAL_LM")
            throw bad($"task_type is \"{taskType}\"; Grpo's models are causal language models (task_type \"CAUSAL_LM\").");

        // Each of these changes what the adapter computes or which weights it carries; Grpo implements none of them.
        foreach (var (key, feature) in Unsupported)
            if (json[key] is JsonValue v && v.TryGetValue<bool>(out var on) && on)
                throw bad($"{key} is true: {feature} is not supported by Grpo's LoRA layer.");
        var bias = json["bias"]?.GetValue<string>() ?? "none";
        if (bias != "none")
            throw bad($"bias is \"{bias}\"; Grpo trains no base biases, only bias \"none\" is supported.");
        foreach (var key in new[] { "rank_pattern", "alpha_pattern" })
            if (json[key] is JsonObject { Count: > 0 })
                throw bad($"{key} sets per-module values; Grpo supports one r and one lora_alpha for all layers.");
        foreach (var key in new[] { "modules_to_save", "layer_replication", "trainable_token_indices", "target_parameters" })
            if (json[key] is JsonArray { Count: > 0 } or JsonObject { Count: > 0 } or JsonValue)
                throw bad($"{key} is set; Grpo loads adapters that hold lora_A / lora_B weights only.");

        var rank = json["r"] is JsonValue rv && rv.TryGetValue<double>(out var rd) ? rd : double.NaN;
        if (!(rank >= 1 && rank <= int.MaxValue && rank == Math.Floor(rank)))
            throw bad($"r must be a positive integer, got {json["r"]?.ToJsonString() ?? "nothing"}.");
        var alpha = json["lora_alpha"] is JsonValue av && av.TryGetValue<double>(out var ad) ? ad : double.NaN;
        var options = new LoraOptions
        {
            Rank = (int)rank,
            Alpha = alpha,
            Dropout = json["lora_dropout"]?.GetValue<double>() ?? 0,
            UseRsLora = json["use_rslora"]?.GetValue<bool>() ?? false,
            TargetModules = json["target_modules"] switch
            {
                JsonArray names => names.Select(n => n!.GetValue<string>()).ToList(),
                JsonValue single => [single.GetValue<string>()],
                _ => [],
            },
        };
        try { options.Validate(); }
        catch (ArgumentException e) { throw bad(e.Message); }
        return new PeftAdapterConfig { Options = options, BaseModelNameOrPath = json["base_model_name_or_path"]?.GetValue<string>() };
    }

    static readonly (string Key, string Feature)[] Unsupported =
    [
        ("use_dora", "DoRA"), ("use_qalora", "QA-LoRA"), ("lora_bias", "a trained LoRA bias"),
        ("fan_in_fan_out", "fan_in_fan_out (Conv1D-style weights)"),
    ];

    /// <summary>
    /// Writes <c>adapter_config.json</c> into <paramref name="directory"/> with <paramref name="targetModules"/> (the
    /// leaf names actually adapted, as PEFT records after resolving "all-linear").
    /// </summary>
    public void Write(string directory, IEnumerable<string> targetModules)
    {
        // Keys sorted and indented by two, as PEFT writes them; values are PEFT's defaults except the LoRA ones.
        var json = new JsonObject
        {
            ["alora_invocation_tokens"] = null,
            ["alpha_pattern"] = new JsonObject(),
            ["arrow_config"] = null,
            ["auto_mapping"] = null,
            ["base_model_name_or_path"] = BaseModelNameOrPath,
            ["bias"] = "none",
            ["corda_config"] = null,
            ["ensure_weight_tying"] = false,
            ["eva_config"] = null,
            ["exclude_modules"] = null,
            ["fan_in_fan_out"] = false,
            ["inference_mode"] = true,
            ["init_lora_weights"] = true,
            ["kasa_config"] = null,
            ["layer_replication"] = null,
            ["layers_pattern"] = null,
            ["layers_to_transform"] = null,
            ["loftq_config"] = new JsonObject(),
            ["lora_alpha"] = Options.Alpha == Math.Floor(Options.Alpha) ? JsonValue.Create((long)Options.Alpha) : JsonValue.Create(Options.Alpha),
            ["lora_bias"] = false,
            ["lora_dropout"] = Options.Dropout,
            ["lora_ga_config"] = null,
            ["megatron_config"] = null,
            ["megatron_core"] = "megatron.core",
            ["modules_to_save"] = null,
            ["monteclora_config"] = null,
            ["peft_type"] = "LORA",
            ["peft_version"] = PeftVersion,
            ["qalora_group_size"] = 16,
            ["r"] = Options.Rank,
            ["rank_pattern"] = new JsonObject(),
            ["revision"] = null,
            ["target_modules"] = new JsonArray(targetModules.Select(t => (JsonNode?)JsonValue.Create(t)).ToArray()),
            ["target_parameters"] = null,
            ["task_type"] = "CAUSAL_LM",
            ["trainable_token_indices"] = null,
            ["use_bdlora"] = null,
            ["use_dora"] = false,
            ["use_qalora"] = false,
            ["use_rslora"] = Options.UseRsLora,
            ["velora_config"] = null,
        };
        File.WriteAllText(Path.Combine(directory, FileName), json.ToJsonString(new JsonSerializerOptions { WriteIndented = true }));
    }
}
