using System.Globalization;
using System.Text.Json;
using static TorchSharp.torch;

namespace Grpo.Benchmarks;

/// <summary>
/// A GRPO run (<see cref="GrpoStepTimings.Train"/>) in a fresh child process, so that its resident-set high-water mark
/// counts that run alone: the same measurement for every row (float32 or bfloat16, checkpointing on or off), free of
/// what earlier sections left in the allocator.
/// </summary>
internal static class IsolatedStep
{
    private const string ChildFlag = "--child-step";

    /// <summary>Runs <paramref name="setup"/> in a child process (the model named <paramref name="shape"/>, see <see cref="BenchmarkModels.ByName"/>) at <paramref name="threads"/> torch threads.</summary>
    public static GrpoStepTimings.Run Run(string shape, GrpoStepTimings.Setup setup, int threads)
    {
        string[] args =
        [
            "grpo-step", ChildFlag, shape, setup.Dtype.ToString(), $"{setup.Prompts}", $"{setup.Generations}", $"{setup.CompletionLength}",
            $"{setup.Steps}", setup.GradientCheckpointing ? "1" : "0", $"{setup.MaxTokensPerMicroBatch}", $"{threads}",
        ];
        var json = ChildProcess.Result(args, $"{shape} {setup.Dtype} GRPO step");
        return JsonSerializer.Deserialize<GrpoStepTimings.Run>(json) ?? throw new InvalidOperationException($"The GRPO step child wrote no run: {json}");
    }

    /// <summary>Whether <paramref name="args"/> (after "grpo-step") are a child's, as <see cref="Run"/> writes them.</summary>
    public static bool IsChild(string[] args) => args is [ChildFlag, ..];

    /// <summary>The child's side: trains, then writes "RESULT " and the run as JSON.</summary>
    public static async Task<int> Child(string[] args)
    {
        if (args is not [ChildFlag, var shape, var dtype, var prompts, var g, var c, var steps, var checkpointing, var microBatch, var threads])
            throw new ArgumentException($"A GRPO step child takes {ChildFlag} SHAPE DTYPE PROMPTS G COMPLETION STEPS CHECKPOINTING(0|1) MICRO_BATCH_TOKENS THREADS.");
        static int I(string s) => int.Parse(s, CultureInfo.InvariantCulture);
        set_num_threads(I(threads));
        var setup = new GrpoStepTimings.Setup(BenchmarkModels.ByName(shape), Enum.Parse<ScalarType>(dtype), I(prompts), I(g), I(c), I(steps),
            checkpointing == "1", I(microBatch));
        var run = await GrpoStepTimings.Train(setup, CancellationToken.None);
        Console.WriteLine("RESULT " + JsonSerializer.Serialize(run));
        return 0;
    }
}
