using System.Text.Json.Nodes;
using static TorchSharp.torch;

namespace Grpo.GpuCheck;

/// <summary>
/// The check program: parity with transformers' fixtures and a LoRA GRPO step against the CPU on the chosen device,
/// then, with <c>--shape</c>, the speed run. <c>--help</c> prints the usage. Exit status 0 when every check passed, 1 when one failed, 2 on a bad
/// command line, 3 when the device cannot be used.
/// </summary>
internal static class CheckProgram
{
    public static int Run(IReadOnlyList<string> args, TextWriter log)
    {
        if (args is ["--help"] or ["-h"])
        {
            log.WriteLine(CheckOptions.Usage);
            return 0;
        }
        CheckOptions options;
        try
        {
            options = CheckOptions.Parse(args);
        }
        catch (ArgumentException e)
        {
            log.WriteLine(e.Message);
            return 2;
        }
        if (!Directory.Exists(options.FixturesDir))
        {
            log.WriteLine($"The fixtures folder '{options.FixturesDir}' does not exist; pass --fixtures tests/Grpo.Tests/Fixtures/hf-reference.");
            return 2;
        }

        // Before CUDA starts, so that the poller's first reading excludes this process's CUDA context.
        using var memory = options.Device == DeviceType.CUDA ? new GpuMemoryPoller() : null;
        if (options.Device == DeviceType.CUDA && !StartCuda(log))
            return 3;
        string device = options.Device == DeviceType.CUDA ? "cuda" : "cpu";

        var checks = new List<CheckResult>();
        checks.AddRange(FixtureParity.Run(options.FixturesDir, options.Device));
        checks.AddRange(StepParity.Run(options.FixturesDir, options.Device));
        foreach (var c in checks)
            log.WriteLine($"{(c.Passed ? "pass" : "FAIL")}  {c.Name}: {c.Measured:G3} (tolerance {c.Tolerance:G3})");

        JsonObject? speed = options.Shape is null ? null : SpeedRun.Run(options.Shape, options.Device, options.Steps, memory, log);
        CheckReport.Write(options.OutDir, device, checks, speed);
        log.WriteLine($"{checks.Count(c => c.Passed)} of {checks.Count} checks passed; results in {Path.GetFullPath(options.OutDir)}");
        return checks.All(c => c.Passed) ? 0 : 1;
    }

    /// <summary>Loads the CUDA backend (libtorch_cuda and LibTorchSharp); on failure says why and what to do.</summary>
    private static bool StartCuda(TextWriter log)
    {
        try
        {
            InitializeDeviceType(DeviceType.CUDA);
        }
        catch (Exception e) when (e is NotSupportedException or DllNotFoundException or InvalidOperationException)
        {
            log.WriteLine("The CUDA backend did not load: libLibTorchSharp.so must sit beside the program and PyTorch's lib folder " +
                          $"(libtorch_cuda.so) be on LD_LIBRARY_PATH; benchmarks/gpu/run-on-device.sh sets both up. {e.Message}");
            return false;
        }
        if (!cuda.is_available())
        {
            log.WriteLine("libtorch loaded but sees no CUDA device; check nvidia-smi and CUDA_VISIBLE_DEVICES.");
            return false;
        }
        log.WriteLine($"CUDA: {cuda.device_count()} device(s)");
        return true;
    }
}
