using System.CommandLine;
using System.Diagnostics;
using System.Text.Encodings.Web;
using System.Text.Json;
using Grpo.Data;
using Grpo.Lora;
using Grpo.Modeling;
using Grpo.Rewards.Math;
using Grpo.Sampling.Server;
using Grpo.Training;
using Spectre.Console;
using TorchSharp;

namespace Grpo.Samples.MathReasoning;

/// <summary>
/// The sample's main command (no arguments needed): GRPO on maths problems checked by the maths reward. Measures
/// held-out greedy accuracy before, during and after training, shows live progress, and leaves the adapter (or the
/// fully fine-tuned model), the metrics, every held-out answer before and after, and a plot in the output folder.
/// With <see cref="TrainSettings.Tools"/> the model may call them, and the results show how often it does.
/// </summary>
public static class TrainCommand
{
    /// <summary>Keeps "+" and other characters as written in the held-out answers file, not as \u escapes.</summary>
    static readonly JsonSerializerOptions ReadableJson = new() { Encoder = JavaScriptEncoder.UnsafeRelaxedJsonEscaping };

    /// <summary>The maths sample's root command: <see cref="Create(TrainSettings, string)"/> with the default settings.</summary>
    public static RootCommand Create() => Create(new TrainSettings(),
        "GRPO on maths word problems, checked by the maths reward. With no options it trains the small built-in model on generated " +
        "arithmetic problems for a few minutes on a CPU and shows held-out accuracy before and after.");

    /// <summary>
    /// A root command whose action is the GRPO run with <paramref name="defaults"/>; its options override them, and the
    /// settings no option names (the built-in model, the tools, the run's name) are kept.
    /// </summary>
    public static RootCommand Create(TrainSettings defaults, string description)
    {
        var model = new Option<DirectoryInfo?>("--model") { Description = "Hugging Face model folder to train (config.json, model.safetensors, tokenizer.json, tokenizer_config.json). Default: the built-in model." };
        var data = new Option<FileInfo?>("--data") { Description = "GSM8K-format JSONL to train on (\"question\", and \"answer\" ending in \"#### n\"). Default: generated arithmetic word problems." };
        var evalData = new Option<FileInfo?>("--eval-data") { Description = "GSM8K-format JSONL to measure on. Default: the first --eval-count rows of --data, left out of training." };
        var output = new Option<DirectoryInfo?>("--output") { Description = $"Folder for the run's results; must not hold a run already. Default: runs/{defaults.RunName}-TIMESTAMP." };
        var steps = new Option<int>("--steps") { Description = "GRPO steps.", DefaultValueFactory = _ => defaults.Steps };
        var seed = new Option<int>("--seed") { Description = "Seed of the training problems, sampling and adapter.", DefaultValueFactory = _ => defaults.Seed };
        var loraRank = new Option<int>("--lora-rank") { Description = "LoRA rank; 0 trains every weight (the KL reference is then a frozen copy).", DefaultValueFactory = _ => defaults.LoraRank };
        var learningRate = new Option<double>("--learning-rate") { Description = "AdamW learning rate at the first step; it decays linearly to zero by the last.", DefaultValueFactory = _ => defaults.LearningRate };
        var groupSize = new Option<int>("--group-size") { Description = "Completions sampled per prompt (G).", DefaultValueFactory = _ => defaults.GroupSize };
        var promptsPerStep = new Option<int>("--prompts-per-step") { Description = "Prompts per GRPO step.", DefaultValueFactory = _ => defaults.PromptsPerStep };
        var temperature = new Option<double>("--temperature") { Description = "Sampling temperature during training.", DefaultValueFactory = _ => defaults.Temperature };
        var beta = new Option<double>("--beta") { Description = "KL penalty weight (0 skips the reference model).", DefaultValueFactory = _ => defaults.Beta };
        var maxLength = new Option<int>("--max-completion-length") { Description = "Most tokens per completion.", DefaultValueFactory = _ => defaults.MaxCompletionLength };
        var evalCount = new Option<int>("--eval-count") { Description = "Held-out problems to measure.", DefaultValueFactory = _ => defaults.EvalCount };
        var evalEvery = new Option<int>("--eval-every") { Description = "Measure held-out accuracy every this many steps.", DefaultValueFactory = _ => defaults.EvalEvery };
        var threads = new Option<int?>("--threads") { Description = "TorchSharp CPU threads. [default: 1 for the built-in model, the physical cores for --model]" };
        var device = new Option<string>("--device") { Description = "Where the model runs: cpu, cuda (the first GPU) or cuda:N (needs the TorchSharp-cuda package in place of TorchSharp-cpu).", DefaultValueFactory = _ => defaults.Device };
        var dtype = new Option<string>("--dtype")
        {
            Description = "The weights' dtype: bfloat16, float32, float16, or auto: the checkpoint's torch_dtype on CUDA or on a CPU with native bfloat16, else float32. LoRA weights and the loss stay float32.",
            DefaultValueFactory = _ => defaults.Dtype,
        };
        var rolloutServers = new Option<string[]>("--rollout-server")
        {
            Description = "Sample from this OpenAI-compatible server (vLLM with --enable-lora, or grpo serve) instead of in process; repeat for replicas. Needs LoRA.",
            HelpName = "url",
        };
        var adapterDir = new Option<DirectoryInfo?>("--adapter-dir") { Description = "Folder the rollout servers load each adapter version from, at the same path. Default: the run folder's published-adapters." };
        var rolloutApiKey = new Option<string?>("--rollout-api-key") { Description = "Bearer key of the rollout servers (vLLM's --api-key)." };

        var root = new RootCommand(description)
        {
            model, data, evalData, output, steps, seed, loraRank, learningRate, groupSize, promptsPerStep, temperature, beta, maxLength, evalCount, evalEvery, threads, device, dtype,
            rolloutServers, adapterDir, rolloutApiKey,
        };
        root.SetAction((parse, cancellationToken) => RunAsync(defaults with
        {
            ModelFolder = parse.GetValue(model)?.FullName,
            DataFile = parse.GetValue(data)?.FullName,
            EvalDataFile = parse.GetValue(evalData)?.FullName,
            OutputFolder = parse.GetValue(output)?.FullName,
            Steps = parse.GetValue(steps),
            Seed = parse.GetValue(seed),
            LoraRank = parse.GetValue(loraRank),
            LearningRate = parse.GetValue(learningRate),
            GroupSize = parse.GetValue(groupSize),
            PromptsPerStep = parse.GetValue(promptsPerStep),
            Temperature = parse.GetValue(temperature),
            Beta = parse.GetValue(beta),
            MaxCompletionLength = parse.GetValue(maxLength),
            EvalCount = parse.GetValue(evalCount),
            EvalEvery = parse.GetValue(evalEvery),
            Threads = parse.GetValue(threads),
            RolloutServers = parse.GetValue(rolloutServers) ?? [],
            AdapterDir = parse.GetValue(adapterDir)?.FullName,
            RolloutApiKey = parse.GetValue(rolloutApiKey),
            Device = parse.GetValue(device)!,
            Dtype = parse.GetValue(dtype)!,
        }, cancellationToken));
        return root;
    }

    /// <summary>Runs the sample; returns the process exit code (0 done, 1 bad input, 2 training failed, 130 cancelled).</summary>
    public static async Task<int> RunAsync(TrainSettings settings, CancellationToken cancellationToken)
    {
        RunPlan plan;
        try
        {
            plan = RunPlan.Prepare(settings);
        }
        catch (Exception e) when (e is IOException or InvalidDataException or ArgumentException or UnauthorizedAccessException)
        {
            AnsiConsole.MarkupLine($"[red]error:[/] {Markup.Escape(e.Message)}");
            return 1;
        }

        using (plan)
        {
            try
            {
                await TrainAsync(plan, settings, cancellationToken);
                plan.Folder.Complete();
                AnsiConsole.MarkupLine($"Saved to [blue]{Markup.Escape(plan.Folder.Final)}[/].");
                return 0;
            }
            catch (OperationCanceledException)
            {
                AnsiConsole.MarkupLine($"[yellow]Cancelled.[/] The unfinished run is in {Markup.Escape(plan.Folder.Working)}.");
                return 130;
            }
            catch (Exception e) when (e is GrpoTrainingException or RolloutServerException)
            {
                AnsiConsole.MarkupLine($"[red]Training failed:[/] {Markup.Escape(e.Message)} The unfinished run is in {Markup.Escape(plan.Folder.Working)}.");
                return 2;
            }
        }
    }

    static async Task TrainAsync(RunPlan plan, TrainSettings settings, CancellationToken cancellationToken)
    {
        var (model, tokenizer, format) = (plan.Model.Model, plan.Model.Tokenizer, plan.Model.Format);
        var folder = plan.Folder.Working;
        AnsiConsole.MarkupLine($"Model [blue]{Markup.Escape(plan.Model.Folder)}[/] ({model.ParameterCount:N0} weights), " +
            $"{plan.Train.Count:N0} training problems, {plan.HeldOut.Count} held-out problems, {settings.Steps} steps of " +
            $"{settings.PromptsPerStep} prompts x {settings.GroupSize} completions.");

        var clock = Stopwatch.StartNew();
        var cpuAtStart = Process.GetCurrentProcess().TotalProcessorTime;
        var options = settings.ToGrpoOptions(folder);
        var servers = settings.ToRolloutServerOptions(folder);
        LoraModel? lora = settings.LoraRank > 0
            ? LoraModel.Apply(model, new LoraOptions { Rank = settings.LoraRank, Alpha = 2 * settings.LoraRank, Seed = settings.Seed }, plan.Model.Folder)
            : null;
        using var reference = lora is null && settings.Beta > 0 ? FrozenCopy.Of(model, () => Checkpoint.Load(plan.Model.Folder, model.Device, model.Dtype)) : null;
        var rewards = new List<(int Step, double Reward)>();
        var accuracy = new List<(int Step, double Accuracy)>();
        EvaluationResult? after = null;
        ProgressTask? task = null;
        using var trainer = new GrpoTrainer(model, tokenizer, [new MathAnswerReward(MathProblems.AnswerField)], options, lora)
        {
            ChatFormat = format.Chat,
            SystemPrompt = format.SystemPrompt,
            Reference = reference,
            RolloutServer = servers,
            Logger = servers is null ? null : new WarningLogger(),
            OnStep = metrics =>
            {
                rewards.Add((metrics.Step, metrics.Reward));
                if (metrics.Evaluation is { } evaluation)
                {
                    accuracy.Add((metrics.Step, evaluation.Accuracy));
                    after = evaluation;   // the run evaluates after its last step too
                }
                task!.Description = Markup.Escape(Describe(metrics, accuracy[^1]));
                task.Value = metrics.Step;
            },
        };

        // Held-out accuracy is the trainer's own evaluation: greedy answers graded by the maths reward (eval_accuracy).
        var before = await trainer.EvaluateAsync(plan.HeldOut, cancellationToken);
        accuracy.Add((0, before.Accuracy));
        AnsiConsole.MarkupLine($"Held-out accuracy before training: [bold]{before.Accuracy:P1}[/] (greedy).");

        await AnsiConsole.Progress()
            .Columns(new TaskDescriptionColumn { Alignment = Justify.Left }, new ProgressBarColumn(), new PercentageColumn(), new ElapsedTimeColumn(), new RemainingTimeColumn())
            .StartAsync(async progress =>
            {
                task = progress.AddTask("starting", maxValue: settings.Steps);
                await trainer.TrainAsync(plan.Train, plan.HeldOut, cancellationToken: cancellationToken);
            });
        ShowResults(before.Greedy, after!.Greedy, rewards, tools: settings.Tools.Count > 0, clock.Elapsed, Process.GetCurrentProcess().TotalProcessorTime - cpuAtStart);

        if (lora is not null) lora.Save(Path.Combine(folder, "adapter"));
        else
        {
            Checkpoint.Save(model, Path.Combine(folder, "model"));
            foreach (var file in new[] { "tokenizer.json", "tokenizer_config.json" })
                File.Copy(Path.Combine(plan.Model.Folder, file), Path.Combine(folder, "model", file));
        }
        File.WriteAllLines(Path.Combine(folder, "heldout.jsonl"), before.Greedy.Zip(after.Greedy, (b, a) => JsonSerializer.Serialize(new
        {
            question = b.Problem.Prompt, gold = Gold(b.Problem), before = b.Completion.Text, before_correct = b.Correct, before_tool_calls = b.Completion.ToolCalls,
            after = a.Completion.Text, after_correct = a.Correct, after_tool_calls = a.Completion.ToolCalls,
        }, ReadableJson)));
        File.WriteAllLines(Path.Combine(folder, "accuracy.jsonl"),
            accuracy.Select(a => JsonSerializer.Serialize(new { step = a.Step, heldout_greedy_accuracy = a.Accuracy })));
        MetricsPlot.Save(Path.Combine(folder, "plot.png"), rewards, accuracy);
    }

    static string Describe(GrpoStepMetrics m, (int Step, double Accuracy) heldOut) =>
        $"reward {m.Reward:F2}  KL {(m.Kl is { } kl ? kl.ToString("F4") : "-")}  length {m.MeanCompletionLength:F1}  " +
        (m.Tools is { } tools ? $"tool calls {tools.CallFrequency:F2}  " : "") +
        $"{m.SamplingTokensPerSecond:F0} tok/s  {m.StepSeconds:F1} s/step  held-out {heldOut.Accuracy:P0} @{heldOut.Step}";

    static void ShowResults(IReadOnlyList<EvaluatedRow> before, IReadOnlyList<EvaluatedRow> after, List<(int Step, double Reward)> rewards, bool tools, TimeSpan time, TimeSpan cpuTime)
    {
        double accuracyBefore = Evaluation.Solved(before), accuracyAfter = Evaluation.Solved(after);
        int window = Math.Max(1, Math.Min(10, rewards.Count / 2));
        var table = new Table().AddColumns("", "before", "after", "change");
        table.AddRow($"held-out accuracy (greedy, {before.Count} problems)", $"{accuracyBefore:P1}", $"{accuracyAfter:P1}", $"{(accuracyAfter - accuracyBefore) * 100:+0.0;-0.0} points");
        if (tools) table.AddRow("greedy answers that call the tool", $"{Evaluation.CalledTool(before):P1}", $"{Evaluation.CalledTool(after):P1}", "");
        table.AddRow("greedy answers that show their working", $"{Evaluation.Worked(before):P1}", $"{Evaluation.Worked(after):P1}", "");
        table.AddRow($"training reward (mean of first / last {window} steps)",
            $"{rewards.Take(window).Average(r => r.Reward):F2}", $"{rewards.TakeLast(window).Average(r => r.Reward):F2}", "");
        // CPU time too: on a shared machine the wall time says more about the neighbours than about the run.
        table.Caption($"{rewards.Count} steps, evaluations included: {time:mm\\:ss} wall time, {cpuTime:mm\\:ss} CPU time");
        AnsiConsole.Write(table);

        var samples = new Table().AddColumns("question", "gold", "before", "after");
        for (int i = 0; i < Math.Min(4, before.Count); i++)
            samples.AddRow(Markup.Escape(before[i].Problem.Prompt), Markup.Escape(Gold(before[i].Problem)), Show(before[i]), Show(after[i]));
        AnsiConsole.Write(samples);
    }

    static string Gold(Problem problem) => problem.Fields[MathProblems.AnswerField].GetString()!.Split("####")[^1].Trim();

    static string Show(EvaluatedRow completion) =>
        $"{(completion.Correct ? "[green]right[/]" : "[red]wrong[/]")}\n{Markup.Escape(completion.Completion.Text.Trim())}";
}
