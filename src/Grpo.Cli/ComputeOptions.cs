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
    /// <param name="parse">The command line.</param>
    /// <param name="recordedDevice">A resumed run's device (<see cref="TrainRun.Device"/>): used when <c>--device</c> is not given.</param>
    /// <param name="recordedDtype">A resumed run's dtype (<see cref="TrainRun.Dtype"/>): used when <c>--dtype</c> is not given.</param>
    public (Device Device, ScalarType? Dtype) Apply(ParseResult parse, string? recordedDevice = null, string? recordedDtype = null)
    {
        int threads = parse.GetValue(_threads) ?? CpuInfo.Current.PhysicalCores;
        if (threads < 1) throw new ArgumentException($"--threads must be at least 1, not {threads}.");
        Device device;
        try
        {
            device = ComputeDevice.Parse(Given(parse, _device) ?? recordedDevice ?? parse.GetValue(_device)!);
        }
        catch (Exception e) when (e is NotSupportedException or ArgumentException)
        {
            throw new ArgumentException($"--device: {e.Message}", e);
        }
        torch.set_num_threads(threads);
        return (device, ComputeDtype.Parse(Given(parse, _dtype) ?? recordedDtype ?? parse.GetValue(_dtype)!));
    }

    /// <summary>The option's value when the command line gives it, null when it would be the default.</summary>
    static string? Given(ParseResult parse, Option<string> option) =>
        parse.GetResult(option) is { Implicit: false } ? parse.GetValue(option) : null;

    /// <summary>How <paramref name="device"/> is named on the command line and in grpo_run.json: cpu or cuda:N.</summary>
    public static string Name(Device device) => device.type == DeviceType.CUDA ? $"cuda:{Math.Max(0, (int)device.index)}" : "cpu";

    /// <summary>How <paramref name="dtype"/> is named on the command line and in grpo_run.json: bfloat16, float32 or float16.</summary>
    public static string Name(ScalarType dtype) => dtype.ToString().ToLowerInvariant();
}
