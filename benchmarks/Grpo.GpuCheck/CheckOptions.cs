using static TorchSharp.torch;

namespace Grpo.GpuCheck;

/// <summary>
/// The check program's command line: <c>--device cpu|cuda</c>, <c>--out DIR</c>, and optionally
/// <c>--shape tiny|qwen2.5-0.5b</c> for the speed run, <c>--steps N</c> timed GRPO steps and <c>--fixtures DIR</c>.
/// </summary>
internal sealed record CheckOptions
{
    public const string Usage =
        "usage: Grpo.GpuCheck --device cpu|cuda --out DIR [--shape tiny|qwen2.5-0.5b] [--steps N] [--fixtures DIR]";

    /// <summary>Where the checks run; the step's reference always runs on the CPU.</summary>
    public required DeviceType Device { get; init; }

    /// <summary>Folder for results.json and results.md (created).</summary>
    public required string OutDir { get; init; }

    /// <summary>The speed run's model shape, or null for parity checks only.</summary>
    public SpeedShape? Shape { get; init; }

    /// <summary>Timed GRPO steps of the speed run, after one untimed warm-up step.</summary>
    public int Steps { get; init; } = 3;

    /// <summary>The transformers-written checkpoints (tests/Grpo.Tests/Fixtures/hf-reference); copied beside the program.</summary>
    public string FixturesDir { get; init; } = Path.Combine(AppContext.BaseDirectory, "Fixtures", "hf-reference");

    /// <summary>Parses <paramref name="args"/>; throws <see cref="ArgumentException"/> with the usage line on bad input.</summary>
    public static CheckOptions Parse(IReadOnlyList<string> args)
    {
        DeviceType? device = null;
        string? outDir = null, fixtures = null;
        SpeedShape? shape = null;
        int steps = 3;
        for (int i = 0; i < args.Count; i++)
        {
            string Value() => i + 1 < args.Count ? args[++i] : throw new ArgumentException($"{args[i]} needs a value. {Usage}");
            switch (args[i])
            {
                case "--device":
                    device = Value() switch
                    {
                        "cpu" => DeviceType.CPU,
                        "cuda" => DeviceType.CUDA,
                        var other => throw new ArgumentException($"--device '{other}' is not supported; use cpu or cuda. {Usage}"),
                    };
                    break;
                case "--out": outDir = Value(); break;
                case "--fixtures": fixtures = Value(); break;
                case "--shape": shape = SpeedShape.Named(Value()); break;
                case "--steps":
                    var text = Value();
                    if (!int.TryParse(text, out steps) || steps < 1)
                        throw new ArgumentException($"--steps '{text}' must be a whole number of at least 1. {Usage}");
                    break;
                default: throw new ArgumentException($"Unknown option '{args[i]}'. {Usage}");
            }
        }
        if (device is null) throw new ArgumentException($"--device is required. {Usage}");
        if (outDir is null) throw new ArgumentException($"--out is required. {Usage}");
        var options = new CheckOptions { Device = device.Value, OutDir = outDir, Shape = shape, Steps = steps };
        return fixtures is null ? options : options with { FixturesDir = fixtures };
    }
}
