using System.CommandLine;
using System.Globalization;
using Grpo.Data;
using Grpo.Lora;
using Grpo.Modeling;
using Grpo.Sampling.Server;
using Grpo.Training;
using static TorchSharp.torch;

namespace Grpo.Cli;

/// <summary>
/// <c>grpo train --model DIR --data FILE.jsonl</c>: GRPO on a JSONL set with rewards chosen by name, a LoRA adapter
/// (or every weight with <c>--full</c>), one line of metrics per step, checkpoints and the final adapter in the
/// output folder. <c>--resume</c> continues a stopped run from its newest checkpoint. Ctrl+C or SIGTERM stops the run
/// after (or in the middle of) its current step without touching its checkpoints, and says how to resume.
/// </summary>
static class TrainCommand
{
    static readonly LoraOptions LoraDefaults = new();

    public static Command Create()
    {
        var model = ModelFolder.ModelOption();
        var data = new Option<FileInfo>("--data") { Description = "Training JSONL: one problem per line, e.g. GSM8K's {\"question\", \"answer\"}.", Required = true };
        var evalData = new Option<FileInfo?>("--eval-data") { Description = "Held-out JSONL in the same format, measured every --eval-steps steps and after the last (eval_accuracy: the share of rows whose greedy answer the first reward scores 1)." };
        var config = new Option<FileInfo?>("--config") { Description = "JSON file of GrpoOptions fields (e.g. {\"MaxSteps\": 200, \"LearningRate\": 1e-5}); options given here win over it." };
        var output = new Option<DirectoryInfo?>("--output") { Description = $"Folder for checkpoints, metrics.jsonl and the adapter. [default: {new GrpoOptions().OutputDir}, or the --config file's OutputDir]" };
        var rewards = new Option<string[]>("--reward")
        {
            Description = $"Reward function, repeatable: {RewardCatalog.Help} [default: math]",
            HelpName = "name",
        };
        rewards.AcceptOnlyFromAmong([.. RewardCatalog.Names]);
        var loraRank = new Option<int?>("--lora-rank") { Description = $"LoRA rank r. [default: {LoraDefaults.Rank}]" };
        var loraAlpha = new Option<double?>("--lora-alpha") { Description = $"LoRA alpha; updates are scaled by alpha / r. [default: {LoraDefaults.Alpha}]" };
        var full = new Option<bool>("--full") { Description = "Train every weight instead of a LoRA adapter (with --beta > 0 a frozen copy of the model is the KL reference)." };
        var resume = new Option<bool>("--resume") { Description = "Continue the run in the output folder from its newest checkpoint, with its saved settings, device and dtype included (options given here still win)." };
        var prompt = new PromptOptions();
        var rollout = new RolloutServerCliOptions();
        var compute = new ComputeOptions();

        var command = new Command("train", "Fine-tune a model with GRPO on a JSONL set, scored by verifiable rewards.")
        {
            model, data, evalData, config, output, rewards, loraRank, loraAlpha, full, resume,
        };
        prompt.AddTo(command);
        rollout.AddTo(command, full);
        compute.AddTo(command);
        foreach (var (option, _) in GrpoOptionsBinding.Settings)
            command.Options.Add(option);
        command.Validators.Add(result =>
        {
            if (result.GetValue(full) && (result.GetResult(loraRank) is not null || result.GetResult(loraAlpha) is not null))
                result.AddError("--full trains every weight; leave out --lora-rank and --lora-alpha, or leave out --full.");
        });

        command.SetAction((parse, cancellationToken) => CommandErrors.RunAsync("train", parse.InvocationConfiguration.Error, async () =>
        {
            var outputDir = Path.GetFullPath((parse.GetValue(output)?.FullName)
                ?? (parse.GetValue(config) is { } c ? GrpoOptionsBinding.Load(c.FullName).OutputDir : new GrpoOptions().OutputDir));
            OutputPaths.CheckFolder(outputDir, "--output");
            var saved = parse.GetValue(resume) ? TrainRun.Load(outputDir) : null;

            // Settings, weakest first: GrpoOptions' defaults or the resumed run's, the --config file, the options given.
            var options = parse.GetValue(config) is { } configFile ? GrpoOptionsBinding.Load(configFile.FullName) : saved?.Options ?? new GrpoOptions();
            foreach (var (_, apply) in GrpoOptionsBinding.Settings)
                options = apply(options, parse);
            options = options with { OutputDir = outputDir };
            options.Validate();

            LoraOptions? lora = parse.GetValue(full) ? null : (saved is null ? LoraDefaults : saved.Lora ?? LoraDefaults);
            if (lora is not null)
            {
                // The adapter's initialisation follows the run's seed, so two runs with the same --seed start alike.
                lora = lora with { Rank = parse.GetValue(loraRank) ?? lora.Rank, Alpha = parse.GetValue(loraAlpha) ?? lora.Alpha, Seed = options.Seed };
                lora.Validate();
            }
            var rewardNames = parse.GetValue(rewards) is { Length: > 0 } named ? named : saved?.Rewards.ToArray() ?? ["math"];
            var run = new TrainRun(options, rewardNames, lora, parse.GetValue(model)!.FullName, parse.GetValue(data)!.FullName,
                parse.GetValue(evalData)?.FullName ?? saved?.EvalData);
            return await RunAsync(run, saved is not null, prompt, rollout.From(parse, outputDir), compute.Apply(parse, saved?.Device, saved?.Dtype), parse, parse.InvocationConfiguration.Output, cancellationToken);
        }));
        return command;
    }

    static async Task<int> RunAsync(TrainRun run, bool resume, PromptOptions prompt, RolloutServerOptions? servers, (Device Device, ScalarType? Dtype) compute,
        ParseResult parse, TextWriter stdout, CancellationToken cancellationToken)
    {
        var outputDir = run.Options.OutputDir;
        string? checkpoint = null;
        if (resume)
            checkpoint = TrainingCheckpoint.Latest(outputDir)
                ?? throw new InvalidDataException($"--resume: '{outputDir}' has no complete checkpoint-N folder yet; delete the folder and start again without --resume.");
        else if (TrainRun.RunMarker(outputDir) is { } marker)
            throw new InvalidOperationException($"Output folder '{outputDir}' already holds a run ({marker}). Pass --resume to continue it, or choose another --output.");

        // Everything that can be refused is checked before the model loads.
        var problems = JsonlDataset.Load(run.Data, prompt.PromptField(parse));
        var evalProblems = run.EvalData is null ? null : JsonlDataset.Load(run.EvalData, prompt.PromptField(parse));
        using var rewards = new RewardCatalog(run.Rewards, run.Options.MaxCompletionLength);
        RewardCatalog.CheckRows(problems, run.Rewards, run.Data);
        if (evalProblems is not null) RewardCatalog.CheckRows(evalProblems, run.Rewards, run.EvalData!);
        run.Options.ResolveRewardWeights(run.Rewards.Count);

        using var folder = ModelFolder.Open(run.Model, run.Options.MaxCompletionLength, "--max-completion-length", compute);
        run = run with { Device = ComputeOptions.Name(folder.Model.Device), Dtype = ComputeOptions.Name(folder.Model.Dtype) };
        if (run.Lora is not null)
        {
            // A rank past the hidden size adds weights but no expressiveness, and at a typo's size (100000) exhausts memory.
            if (run.Lora.Rank > folder.Model.Config.HiddenSize)
                throw new ArgumentException($"--lora-rank {run.Lora.Rank} is more than the model's hidden size ({folder.Model.Config.HiddenSize}); use a rank such as 8 to 64, or --full to train every weight.");
            folder.ApplyAdapter(run.Lora);
        }
        using var reference = run.Lora is null && run.Options.Beta > 0 ? FrozenCopy.Of(folder.Model, folder.LoadCopy) : null;
        bool chat = prompt.UseChat(parse, folder);
        if (chat) folder.FormatPrompt("", chat);   // fails now, not at step 1, when --chat meets a folder without a template
        else
            for (int i = 0; i < problems.Count; i++)
                if (problems[i].Prompt.Length == 0)
                    throw new InvalidDataException($"{run.Data} row {i + 1} has an empty prompt; without a chat template around it the model has no token to start from. Fill it in or drop the row.");

        // Every prompt must leave room for a completion in the model's context; checked here too, before the run is
        // recorded, so a refused row leaves no run behind (the trainer checks again when it starts).
        var prompts = new PromptEncoder(folder.Tokenizer, chat ? folder.ChatFormat : null, prompt.SystemPrompt(parse));
        foreach (var (rows, name) in new[] { (problems, "training set"), (evalProblems, "eval set") })
            if (rows is not null)
                prompts.EncodeAll(rows, name, run.Options.MaxCompletionLength, folder.Model.Config.MaxPositionEmbeddings, run.Options.TruncatePromptsLeft);

        using var trainer = new GrpoTrainer(folder.Model, folder.Tokenizer, rewards.Functions, run.Options, folder.Lora, eosTokenIds: folder.EosTokenIds)
        {
            ChatFormat = prompts.ChatFormat,
            SystemPrompt = prompts.SystemPrompt,
            Reference = reference,
            // Rollouts from servers: a server dropped mid-run is reported on stderr, and the run goes on with the others.
            RolloutServer = servers,
            Logger = servers is null ? null : new WarningLogger(parse.InvocationConfiguration.Error, "train"),
            OnStep = metrics =>
            {
                if (ShowStep(metrics, run.Options.LoggingSteps)) stdout.WriteLine(FormatStep(metrics));
            },
        };
        if (checkpoint is not null)
        {
            trainer.ResumeFrom(checkpoint);
            await stdout.WriteLineAsync($"resuming from {checkpoint} (step {trainer.Step})");
        }
        bool recorded = checkpoint is not null;
        try
        {
            // A stop asked for while the model loaded leaves a new run unrecorded: nothing to clean up or resume.
            cancellationToken.ThrowIfCancellationRequested();
            // Recorded only once the trainer accepted everything, so a refused start leaves no run behind.
            Directory.CreateDirectory(outputDir);
            run.Save(outputDir);
            recorded = true;
            await stdout.WriteLineAsync($"training {(folder.Lora is { } l ? $"a LoRA adapter (r {l.Options.Rank}, alpha {l.Options.Alpha}, {l.TrainableParameterCount:N0} weights)" : "every weight")} " +
                $"on {problems.Count} problems with rewards {string.Join(", ", run.Rewards)}; output in {outputDir}");
            if (servers is not null)
                await stdout.WriteLineAsync($"sampling from {string.Join(", ", servers.Servers)}; adapter versions in {servers.AdapterDir}");
            await (evalProblems is null
                ? trainer.TrainAsync(problems, null, cancellationToken)
                : trainer.TrainAsync(problems, evalProblems, null, cancellationToken));
            // A stop asked for during the last step: its checkpoint is written, and --resume saves the result from it.
            cancellationToken.ThrowIfCancellationRequested();
        }
        catch (OperationCanceledException)
        {
            await parse.InvocationConfiguration.Error.WriteLineAsync(StoppedLine(outputDir, trainer.Step, recorded));
            return CommandErrors.Cancelled;
        }
        SaveResult(folder, outputDir);
        var saved = folder.Lora is null ? $"saved the model to {outputDir}" : $"saved the adapter to {outputDir}";
        if (cancellationToken.IsCancellationRequested)
        {
            // Asked to stop while the result was being written: it was finished first, as a half-written one helps no one.
            await parse.InvocationConfiguration.Error.WriteLineAsync($"grpo train: stopped after the last step; the run is complete ({saved}).");
            return CommandErrors.Cancelled;
        }
        await stdout.WriteLineAsync(saved);
        return 0;
    }

    /// <summary>The one line a stopped run prints: where it stopped and how to go on from there.</summary>
    /// <param name="outputDir">The run's folder.</param>
    /// <param name="step">Steps finished.</param>
    /// <param name="recorded">Whether the folder holds the run (its grpo_run.json).</param>
    static string StoppedLine(string outputDir, int step, bool recorded) =>
        TrainingCheckpoint.Latest(outputDir) is { } newest
            ? $"grpo train: stopped at step {step}; resume with --resume (it continues from {Path.GetFileName(newest)})."
            : recorded
                ? $"grpo train: stopped at step {step}, before the first checkpoint, so there is no checkpoint to resume from yet; " +
                  $"delete '{outputDir}' and start again (--save-steps sets how often checkpoints are written)."
                : "grpo train: stopped before training started; nothing was written.";

    /// <summary>
    /// Writes the adapter (PEFT layout), or with --full the model and its tokenizer files, into the output folder.
    /// Files are written to a temporary folder first and moved in with the config last, so a config file there
    /// always means the weights beside it are complete.
    /// </summary>
    static void SaveResult(ModelFolder folder, string outputDir)
    {
        var temp = Path.Combine(outputDir, ".final.tmp");
        if (Directory.Exists(temp)) Directory.Delete(temp, recursive: true);
        string last;
        if (folder.Lora is { } lora)
        {
            lora.Save(temp);
            last = PeftAdapterConfig.FileName;
        }
        else
        {
            Checkpoint.Save(folder.Model, temp);
            foreach (var file in Directory.EnumerateFiles(folder.Path).Where(f => Path.GetFileName(f).StartsWith("tokenizer", StringComparison.Ordinal)))
                File.Copy(file, Path.Combine(temp, Path.GetFileName(file)));
            last = Checkpoint.ConfigFileName;
        }
        foreach (var file in Directory.EnumerateFiles(temp).OrderBy(f => Path.GetFileName(f) == last))
            File.Move(file, Path.Combine(outputDir, Path.GetFileName(file)), overwrite: true);
        Directory.Delete(temp);
    }

    /// <summary>
    /// Whether a step gets a console line: every <paramref name="loggingSteps"/> steps (<c>--logging-steps</c>), and the
    /// first step, the last and every evaluated one, so a run shows it started, ended and what each evaluation measured.
    /// </summary>
    internal static bool ShowStep(GrpoStepMetrics m, int loggingSteps) =>
        m.Step == 1 || m.Step % loggingSteps == 0 || m.Step == m.TotalSteps || m.Evaluation is not null;

    /// <summary>One line per shown step: what a user watches to see whether the run learns.</summary>
    internal static string FormatStep(GrpoStepMetrics m) => string.Create(CultureInfo.InvariantCulture,
        $"step {m.Step}/{m.TotalSteps}  reward {m.Reward:0.000} ± {m.RewardStd:0.000}  kl {(m.Kl is { } kl ? kl.ToString("0.0000", CultureInfo.InvariantCulture) : "-")}  " +
        $"length {m.MeanCompletionLength:0.0}  {m.SamplingTokensPerSecond:0} tok/s  {m.StepSeconds:0.0} s" +
        $"{(m.Evaluation is { } e ? "  eval_accuracy " + e.Accuracy.ToString("0.000", CultureInfo.InvariantCulture) : "")}");
}
