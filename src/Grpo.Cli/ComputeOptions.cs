using System.CommandLine;
using Grpo.Modeling;
using Grpo.Runtime;
using TorchSharp;
using static TorchSharp.torch;

namespace Grpo.Cli;

/// <summary>
/// Where and how the model computes: <c>--device</c>, <c>--dtype</c> and <c>--threads</c>, the same on every command
/// that loads a model (and on the MathReasoning sample, which compiles this file in).
/// </summary>
sealed class ComputeOptions
{
    readonly Option<string> _device = new("--device")
    {
        Description = "Where the model runs: cpu, cuda (the first GPU) or cuda:N. CUDA needs the TorchSharp-cuda package in place of TorchSharp-cpu.",
        DefaultValueFactory = _ => "cpu",
    };
    readonly Option<string> _dtype = new("--dtype")
    {
        Description = "The weights' dtype: bfloat16, float32, float16, or auto: config.json's torch_dtype on CUDA or on a CPU with native bfloat16 (avx512_bf16, amx_bf16), else float32. " +
                      "LoRA weights, their optimizer state, log-probs and the loss stay float32.",
        DefaultValueFactory = _ => "auto",
    };
    readonly Option<int?> _threads = new("--threads")
    {
        Description = $"CPU threads for tensor operations. [default: the physical cores this process may use, {CpuInfo.Current.PhysicalCores} here]",
    };

    public ComputeOptions()
    {
        // Checked here, not with AcceptOnlyFromAmong, whose refusal lists the choices over several lines.
        _dtype.HelpName = string.Join('|', ComputeDtype.Names);
        _dtype.Validators.Add(result =>
        {
            var value = result.GetValueOrDefault<string>();
            if (!ComputeDtype.Names.Contains(value))
                result.AddError($"--dtype: '{value}' is not one of {string.Join(", ", ComputeDtype.Names)}.");
        });
    }

    public void AddTo(Command command)
    {
        command.Options.Add(_device);
        command.Options.Add(_dtype);
        command.Options.Add(_threads);
    }

    /// <summary>
    /// The device and dtype asked for (null dtype: auto), after setting TorchSharp's thread count. Throws a one-line
    /// <see cref="ArgumentException"/> for a thread count below 1 or a device this TorchSharp build cannot use.
    /// </summary>
    public (Device Device, ScalarType? Dtype) Apply(ParseResult parse)
    {
        int threads = parse.GetValue(_threads) ?? CpuInfo.Current.PhysicalCores;
        if (threads < 1) throw new ArgumentException($"--threads must be at least 1, not {threads}.");
        Device device;
        try
        {
            device = ComputeDevice.Parse(parse.GetValue(_device)!);
        }
        catch (Exception e) when (e is NotSupportedException or ArgumentException)
        {
            throw new ArgumentException($"--device: {e.Message}", e);
        }
        torch.set_num_threads(threads);
        return (device, ComputeDtype.Parse(parse.GetValue(_dtype)!));
    }
}
