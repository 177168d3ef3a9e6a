using System.CommandLine;
using System.Diagnostics;
using System.Reflection;
using Grpo.Modeling;
using Grpo.Sampling;
using TorchSharp;

namespace Grpo.Samples.MathReasoning;

/// <summary>
/// <c>pretrain</c>: builds a built-in model from scratch (tokenizer, random weights, supervised training on
/// generated problems, as its <see cref="PretrainRecipe"/> says) and writes its Hugging Face folder, then reports how
/// good it is on held-out problems: greedy accuracy, pass@8 at temperature 1, how often it answers the recipe's way
/// and how often that is right, and how long sampling a GRPO-sized group takes.
/// </summary>
public static class PretrainCommand
{
    /// <summary>The command for <paramref name="recipe"/>, writing by default into <paramref name="sourceFolder"/> (<see cref="SourceFolder"/>).</summary>
    public static Command Create(PretrainRecipe recipe, string sourceFolder)
    {
        var defaults = recipe.Defaults;
        var tools = recipe.Format.ToolList.Count > 0;
        var output = new Option<DirectoryInfo>("--output")
        {
            Description = "Folder to write the checkpoint to (replaced if it exists).",
            DefaultValueFactory = _ => new DirectoryInfo(Path.Combine(sourceFolder, recipe.FolderName)),
        };
        var steps = new Option<int>("--steps") { Description = "Optimizer steps.", DefaultValueFactory = _ => defaults.Steps };
        var seed = new Option<int>("--seed") { Description = "Seed of the initial weights and the training problems.", DefaultValueFactory = _ => defaults.Seed };
        var workedShare = new Option<double>("--worked-share") { Description = "Share of training answers that show their working; the rest give the bare answer.", DefaultValueFactory = _ => defaults.WorkedShare };
        var toolShare = new Option<double>("--tool-share") { Description = "Share of training answers that call the tool; they take precedence over worked ones.", DefaultValueFactory = _ => defaults.ToolShare };
        var threads = new Option<int>("--threads") { Description = "CPU threads for TorchSharp; one is fastest for a model this small on a busy machine.", DefaultValueFactory = _ => 1 };
        var command = new Command("pretrain", "Pre-train the built-in model on generated arithmetic word problems and save it as a Hugging Face folder.")
        {
            output, steps, seed, workedShare, threads,
        };
        if (tools) command.Options.Add(toolShare);
        command.SetAction((parse, cancellationToken) =>
        {
            torch.set_num_threads(parse.GetValue(threads));
            var options = defaults with { Steps = parse.GetValue(steps), Seed = parse.GetValue(seed), WorkedShare = parse.GetValue(workedShare) };
            if (tools) options = options with { ToolShare = parse.GetValue(toolShare) };
            Run(recipe, parse.GetValue(output)!.FullName, options, cancellationToken);
            return Task.FromResult(0);
        });
        return command;
    }

    /// <summary>A sample's source folder, recorded at build time (<c>ProjectDirectory</c> metadata), where its committed checkpoint lives.</summary>
    public static string SourceFolder(Assembly sample) =>
        sample.GetCustomAttributes<AssemblyMetadataAttribute>().First(a => a.Key == "ProjectDirectory").Value!;

    static void Run(PretrainRecipe recipe, string folder, PretrainOptions options, CancellationToken cancellationToken)
    {
        var tokenizer = recipe.CreateTokenizer();
        var config = recipe.CreateConfig(tokenizer);
        using var model = CausalLM.Create(config, options.Seed);
        Console.WriteLine($"Pre-training a {model.ParameterCount:N0}-weight {config.ModelType} model ({tokenizer.VocabSize} tokens) for {options.Steps} steps of {options.BatchSize} problems.");
        var clock = Stopwatch.StartNew();
        var pad = tokenizer.TokenToId(BuiltInModel.EndOfText)!.Value;
        SupervisedPretraining.Run(model, recipe.Rows(tokenizer, options), pad, options, Console.Out, cancellationToken);
        Console.WriteLine($"Pre-training took {clock.Elapsed:mm\\:ss}.");
        BuiltInModel.Save(model, tokenizer, folder);
        Console.WriteLine($"Saved to {folder}.");

        var heldOut = MathProblems.HeldOut(256);
        var format = recipe.Format;
        var greedy = Evaluation.Greedy(model, tokenizer, format, heldOut, recipe.MaxNewTokens, cancellationToken);
        var sampling = new SamplingOptions { MaxNewTokens = recipe.MaxNewTokens, Seed = options.Seed };
        var samples = Evaluation.Sample(model, tokenizer, format, heldOut, 8, sampling, cancellationToken);
        var all = samples.SelectMany(g => g).ToList();
        Console.WriteLine($"Held-out ({heldOut.Count} problems): greedy accuracy {Evaluation.Solved(greedy):P1} ({Evaluation.Share(greedy, recipe.UsesMethod):P0} {recipe.Method}); " +
            $"at temperature 1, one sample {Evaluation.Solved(samples.Select(g => g[0]).ToList()):P1}, pass@8 {Evaluation.Solved(samples):P1}; " +
            $"samples {recipe.Method} {Evaluation.Share(all, recipe.UsesMethod):P0}, right {Evaluation.Solved(all.Where(recipe.UsesMethod).ToList()):P1} of those and " +
            $"{Evaluation.Solved(all.Where(c => !recipe.UsesMethod(c)).ToList()):P1} of the others.");

        var prompts = heldOut.Take(8).ToList();
        Evaluation.Sample(model, tokenizer, format, prompts, 8, sampling, cancellationToken);
        clock.Restart();
        var timed = Evaluation.Sample(model, tokenizer, format, prompts, 8, sampling, cancellationToken);
        Console.WriteLine($"Sampling 8 prompts x 8 completions ({timed.Sum(g => g.Sum(c => c.Completion.TokenIds.Length))} tokens) took {clock.Elapsed.TotalSeconds:F2} s.");
    }
}
