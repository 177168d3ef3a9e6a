using Grpo.Samples.MathReasoning;

namespace MathReasoning.Tests;

/// <summary>
/// What the tests that run the sample on a tiny model share: a temporary folder for their runs, a tiny model folder,
/// and <see cref="Short"/> settings for a run of seconds. Disposing deletes both folders.
/// </summary>
public sealed class SampleRunFolder : IDisposable
{
    /// <summary>The folder the runs write into.</summary>
    public string Root { get; } = Directory.CreateTempSubdirectory("mr-run-").FullName;

    /// <summary>The tiny model the runs train.</summary>
    public TinyModelFolder Model { get; } = new();

    /// <summary><paramref name="name"/> under <see cref="Root"/>, not created.</summary>
    public string PathOf(string name) => Path.Combine(Root, name);

    /// <summary>
    /// Two steps of 2 prompts × 4 completions of up to 8 tokens on the tiny model, from 16 generated problems, with 4
    /// held-out problems evaluated after every step, into <paramref name="output"/> under <see cref="Root"/>.
    /// </summary>
    public TrainSettings Short(string output) => new()
    {
        ModelFolder = Model.Path,
        OutputFolder = PathOf(output),
        Steps = 2,
        PromptsPerStep = 2,
        GroupSize = 4,
        MaxCompletionLength = 8,
        EvalCount = 4,
        EvalEvery = 1,
        GeneratedTrainCount = 16,
    };

    public void Dispose()
    {
        Model.Dispose();
        Directory.Delete(Root, recursive: true);
    }
}
