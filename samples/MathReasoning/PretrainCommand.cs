using System.CommandLine;
using System.Diagnostics;
using System.Reflection;
using Grpo.Modeling;
using Grpo.Sampling;
using TorchSharp;

namespace Grpo.Samples.MathReasoning;

/// <summary>
/// <c>pretrain</c>: builds the built-in model from scratch (tokenizer, random weights, supervised training on
/// generated problems) and writes its Hugging Face folder, then reports how good it is on held-out problems: greedy
/// accuracy, pass@8 at temperature 1, and how long sampling a GRPO-sized group takes.
/// </summary>
static class PretrainCommand
{
    public static Command Create()
    {
        var defaults = new PretrainOptions();
        var output = new Option<DirectoryInfo>("--output")
        {
            Description = "Folder to write the checkpoint to (replaced if it exists).",
            DefaultValueFactory = _ => new DirectoryInfo(Path.Combine(SourceFolder(), BuiltInModel.FolderName)),
        };
        var steps = new Option<int>("--steps") { Description = "Optimizer steps.", DefaultValueFactory = _ => defaults.Steps };
        var seed = new Option<int>("--seed") { Description = "Seed of the initial weights and the training problems.", DefaultValueFactory = _ => defaults.Seed };
        var workedShare = new Option<double>("--worked-share") { Description = "Share of training answers that show their working; the rest give the bare answer.", DefaultValueFactory = _ => defaults.WorkedShare };
        var threads = new Option<int>("--threads") { Description = "CPU threads for TorchSharp; one is fastest for a model this small on a busy machine.", DefaultValueFactory = _ => 1 };
        var command = new Command("pretrain", "Pre-train the built-in model on generated arithmetic word problems and save it as a Hugging Face folder.")
        {
            output, steps, seed, workedShare, threads,
        };
        command.SetAction((parse, cancellationToken) =>
        {
            torch.set_num_threads(parse.GetValue(threads));
            Run(parse.GetValue(output)!.FullName, defaults with { Steps = parse.GetValue(steps), Seed = parse.GetValue(seed), WorkedShare = parse.GetValue(workedShare) }, cancellationToken);
            return Task.FromResult(0);
        });
        return command;
    }

    static void Run(string folder, PretrainOptions options, CancellationToken cancellationToken)
    {
        var tokenizer = BuiltInModel.CreateTokenizer();
        var config = BuiltInModel.CreateConfig(tokenizer);
        using var model = CausalLM.Create(config, options.Seed);
        Console.WriteLine($"Pre-training a {model.ParameterCount:N0}-weight {config.ModelType} model ({tokenizer.VocabSize} tokens) for {options.Steps} steps of {options.BatchSize} problems.");
        var clock = Stopwatch.StartNew();
        SupervisedPretraining.Run(model, tokenizer, options, Console.Out, cancellationToken);
        Console.WriteLine($"Pre-training took {clock.Elapsed:mm\\:ss}.");

        // Written beside the target and moved into place, so an interrupted run never leaves a half-written model.
        var staging = folder.TrimEnd(Path.DirectorySeparatorChar) + ".partial";
        if (Directory.Exists(staging)) Directory.Delete(staging, recursive: true);
        Checkpoint.Save(model, staging);
        BuiltInModel.SaveTokenizer(tokenizer, staging);
        if (Directory.Exists(folder)) Directory.Delete(folder, recursive: true);
        Directory.Move(staging, folder);
        Console.WriteLine($"Saved to {folder}.");

        var heldOut = MathProblems.HeldOut(256);
        const int maxNewTokens = 48;
        var format = PromptFormat.BuiltIn;
        var greedy = Evaluation.Greedy(model, tokenizer, format, heldOut, maxNewTokens, cancellationToken);
        var sampling = new SamplingOptions { MaxNewTokens = maxNewTokens, Seed = options.Seed };
        var samples = Evaluation.Sample(model, tokenizer, format, heldOut, 8, sampling, cancellationToken);
        var all = samples.SelectMany(g => g).ToList();
        Console.WriteLine($"Held-out ({heldOut.Count} problems): greedy accuracy {Evaluation.Solved(greedy):P1} ({Evaluation.Worked(greedy):P0} worked); " +
            $"at temperature 1, one sample {Evaluation.Solved(samples.Select(g => g[0]).ToList()):P1}, pass@8 {Evaluation.Solved(samples):P1}; " +
            $"samples worked {Evaluation.Worked(all):P0}, right {Evaluation.Solved(all.Where(Evaluation.ShowsWork).ToList()):P1} of worked and " +
            $"{Evaluation.Solved(all.Where(c => !Evaluation.ShowsWork(c)).ToList()):P1} of bare ones.");

        using var sampler = new GroupSampler(model, tokenizer, sampling);
        var prompts = heldOut.Take(8).Select(p => format.Format(p.Prompt)).ToList();
        sampler.Sample(prompts, 8, cancellationToken);
        clock.Restart();
        var completions = sampler.Sample(prompts, 8, cancellationToken);
        Console.WriteLine($"Sampling 8 prompts x 8 completions ({completions.Sum(c => c.TokenIds.Length)} tokens) took {clock.Elapsed.TotalSeconds:F2} s.");
    }

    /// <summary>The sample's source folder, recorded at build time, where the committed checkpoint lives.</summary>
    static string SourceFolder() =>
        typeof(PretrainCommand).Assembly.GetCustomAttributes<AssemblyMetadataAttribute>().First(a => a.Key == "ProjectDirectory").Value!;
}
