using Grpo.Data;
using Grpo.Modeling;
using Grpo.Runtime;
using TorchSharp;
using static TorchSharp.torch;

namespace Grpo.Samples.MathReasoning;

/// <summary>
/// Everything a run needs, gathered and checked before any work: settings in range, the model folder loadable, every
/// data row usable, the output folder free. Only then is the output folder created, so bad input leaves nothing behind.
/// </summary>
public sealed class RunPlan : IDisposable
{
    RunPlan(LoadedModel model, IReadOnlyList<Problem> train, IReadOnlyList<Problem> heldOut, RunFolder folder)
    {
        Model = model;
        Train = train;
        HeldOut = heldOut;
        Folder = folder;
    }

    /// <summary>The model to train.</summary>
    public LoadedModel Model { get; }

    /// <summary>The training problems.</summary>
    public IReadOnlyList<Problem> Train { get; }

    /// <summary>The problems accuracy is measured on; none of them is trained on.</summary>
    public IReadOnlyList<Problem> HeldOut { get; }

    /// <summary>Where the run's results go.</summary>
    public RunFolder Folder { get; }

    /// <summary>Checks and loads everything for <paramref name="settings"/>.</summary>
    /// <exception cref="ArgumentException">A setting is out of range.</exception>
    /// <exception cref="InvalidDataException">The model folder or a data file is not usable.</exception>
    /// <exception cref="IOException">A file is missing, or the output folder already holds a run.</exception>
    public static RunPlan Prepare(TrainSettings settings)
    {
        settings.ToGrpoOptions("validation");
        settings.ToRolloutServerOptions("validation");
        if (settings.DataFile is null && settings.EvalDataFile is not null)
            throw new ArgumentException("--eval-data needs --data: the built-in problems come with their own held-out set.");
        var (train, heldOut) = settings.DataFile is null
            ? (MathProblems.Generated(settings.GeneratedTrainCount, settings.Seed, ProblemSplit.Train), MathProblems.HeldOut(settings.EvalCount))
            : FromFiles(settings);

        var dtype = ComputeDtype.Parse(settings.Dtype);
        Device device;
        try
        {
            device = ComputeDevice.Parse(settings.Device);
        }
        catch (NotSupportedException e)
        {
            throw new ArgumentException(e.Message, e);
        }
        torch.set_num_threads(settings.ResolvedThreads);
        var model = LoadedModel.Load(settings.ModelFolder ?? settings.BuiltInModelFolder, builtIn: settings.ModelFolder is null, device, dtype);
        try
        {
            return new RunPlan(model, train, heldOut, RunFolder.Claim(settings.OutputFolder ?? RunFolder.DefaultPath(settings.RunName)));
        }
        catch
        {
            model.Dispose();
            throw;
        }
    }

    static (IReadOnlyList<Problem> Train, IReadOnlyList<Problem> HeldOut) FromFiles(TrainSettings settings)
    {
        var rows = MathProblems.FromJsonl(settings.DataFile!);
        if (settings.EvalDataFile is not null)
            return (rows, MathProblems.FromJsonl(settings.EvalDataFile).Take(settings.EvalCount).ToList());
        if (rows.Count <= settings.EvalCount)
            throw new ArgumentException(
                $"'{settings.DataFile}' has {rows.Count} rows; the first {settings.EvalCount} (--eval-count) are held out for measuring, which leaves none to train on. " +
                "Lower --eval-count or pass a separate --eval-data file.");
        return (rows.Skip(settings.EvalCount).ToList(), rows.Take(settings.EvalCount).ToList());
    }

    /// <summary>Frees the model.</summary>
    public void Dispose() => Model.Dispose();
}
