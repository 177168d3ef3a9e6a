using System.Diagnostics;

namespace Grpo.GpuCheck;

/// <summary>
/// Peak GPU memory in use while it runs, read from <c>nvidia-smi</c> every 100 ms (TorchSharp has no
/// <c>max_memory_allocated</c>). It reads the whole card's <c>memory.used</c>, so the figure is the peak minus the
/// amount in use when polling began: this process's CUDA context, caching allocator and all. The PyTorch peer script
/// polls the same way. Where nvidia-smi is missing (the CPU), <see cref="PeakMiB"/> stays null.
/// </summary>
internal sealed class GpuMemoryPoller : IDisposable
{
    private readonly Process? _process;
    private readonly Task? _reader;
    private readonly Lock _gate = new();
    private readonly ManualResetEventSlim _firstReading = new();
    private double? _baseline;
    private double _peak;

    public GpuMemoryPoller()
    {
        try
        {
            _process = Process.Start(new ProcessStartInfo("nvidia-smi", "--query-gpu=memory.used --format=csv,noheader,nounits -i 0 -lms 100")
            {
                RedirectStandardOutput = true,
                RedirectStandardError = true,
                UseShellExecute = false,
            });
        }
        catch (System.ComponentModel.Win32Exception)
        {
            _process = null;   // no nvidia-smi: not a GPU machine
        }
        if (_process is null) return;
        _reader = Task.Run(Read);
        // The baseline must be read before the caller starts CUDA; nvidia-smi takes a moment to answer.
        _firstReading.Wait(TimeSpan.FromSeconds(5));
    }

    /// <summary>The peak memory.used above the first reading, in MiB; null without nvidia-smi or a reading.</summary>
    public double? PeakMiB
    {
        get
        {
            lock (_gate) return _baseline is { } b ? _peak - b : null;
        }
    }

    private async Task Read()
    {
        while (await _process!.StandardOutput.ReadLineAsync() is { } line)
        {
            if (!double.TryParse(line.Trim(), System.Globalization.CultureInfo.InvariantCulture, out var used)) continue;
            lock (_gate)
            {
                _baseline ??= used;
                _peak = Math.Max(_peak, used);
            }
            _firstReading.Set();
        }
    }

    public void Dispose()
    {
        if (_process is null) return;
        if (!_process.HasExited) _process.Kill();
        _reader!.Wait(TimeSpan.FromSeconds(2));
        _process.Dispose();
        _firstReading.Dispose();
    }
}
