using System.CommandLine;
using System.Globalization;
using System.Text.Encodings.Web;
using System.Text.Json;
using Grpo.Data;
using Grpo.Rewards;
using Grpo.Sampling;
using static TorchSharp.torch;

namespace Grpo.Cli;

/// <summary>
/// <c>grpo eval --model DIR [--adapter DIR] --data FILE.jsonl</c>: how well a model (plus adapter) solves a JSONL set:
/// accuracy of greedy decoding, pass@k (unbiased, from n sampled completions per problem) and maj@k (majority vote
/// over the final answers of k samples, maths only), as a small table, with optional per-problem JSONL.
/// </summary>
static class EvalCommand
{
    static readonly JsonWriterOptions OutputJson = new() { Encoder = JavaScriptEncoder.UnsafeRelaxedJsonEscaping };

    public static Command Create()
    {
        var model = ModelFolder.ModelOption();
        var adapter = ModelFolder.AdapterOption();
        var data = new Option<FileInfo>("--data") { Description = "Evaluation JSONL: one problem per line with its gold \"answer\" (math) or tests (code).", Required = true };
        var reward = new Option<string>("--reward") { Description = "What counts as correct: math (the answer equals the gold \"answer\") or code (every test passes).", DefaultValueFactory = _ => "math" };
        reward.AcceptOnlyFromAmong("math", "code");
        var k = new Option<int>("--k") { Description = "k of pass@k and maj@k.", DefaultValueFactory = _ => 4 };
        var samples = new Option<int?>("--samples") { Description = "Completions sampled per problem for pass@k, n ≥ k; 0 skips sampling (greedy only). [default: the value of --k]" };
        var temperature = new Option<double>("--temperature") { Description = "Sampling temperature for the pass@k and maj@k samples.", DefaultValueFactory = _ => 1.0 };
        var maxNewTokens = new Option<int>("--max-new-tokens") { Description = "Most tokens generated per completion.", DefaultValueFactory = _ => 256 };
        var seed = new Option<long>("--seed") { Description = "Seed of the sampler.", DefaultValueFactory = _ => 0 };
        var output = new Option<FileInfo?>("--output") { Description = "Write one JSONL line per problem (greedy completion, correct samples, majority answer). [default: none]" };
        var prompt = new PromptOptions();
        var compute = new ComputeOptions();

        var command = new Command("eval", "Measure greedy accuracy, pass@k and maj@k of a model (plus adapter) on a JSONL set.")
        {
            model, adapter, data, reward, k, samples, temperature, maxNewTokens, seed, output,
        };
        prompt.AddTo(command);
        compute.AddTo(command);
        command.SetAction((parse, cancellationToken) => CommandErrors.RunAsync("eval", parse.InvocationConfiguration.Error, () =>
        {
            // Checked here rather than in a validator: validators see options' defaults as unset.
            int kValue = parse.GetValue(k), n = parse.GetValue(samples) ?? kValue;
            if (kValue < 1) throw new ArgumentException($"--k must be at least 1 (got {kValue}).");
            if (n != 0 && n < kValue) throw new ArgumentException($"--samples must be at least --k ({kValue}) for pass@{kValue}, or 0 for greedy only (got {n}).");
            if (!(parse.GetValue(temperature) > 0) || double.IsInfinity(parse.GetValue(temperature)))
                throw new ArgumentException("--temperature must be above 0; greedy accuracy is always reported besides.");
            if (parse.GetValue(maxNewTokens) < 1) throw new ArgumentException("--max-new-tokens must be at least 1.");
            var settings = new Settings(parse.GetValue(reward)!, kValue, n,
                new SamplingOptions { Temperature = parse.GetValue(temperature), MaxNewTokens = parse.GetValue(maxNewTokens), Seed = parse.GetValue(seed) });
            return RunAsync(parse.GetValue(model)!, parse.GetValue(adapter), parse.GetValue(data)!, settings, parse.GetValue(output), prompt, compute.Apply(parse), parse, cancellationToken);
        }));
        return command;
    }

    sealed record Settings(string Reward, int K, int Samples, SamplingOptions Sampling);

    /// <summary>One problem's results.</summary>
    sealed record RowResult(string Greedy, bool GreedyCorrect, string[] Samples, int Correct, double PassAtK, string? MajorityAnswer, bool? MajorityCorrect);

    static async Task<int> RunAsync(DirectoryInfo modelDir, DirectoryInfo? adapterDir, FileInfo data, Settings settings, FileInfo? output,
        PromptOptions prompt, (Device Device, ScalarType? Dtype) compute, ParseResult parse, CancellationToken cancellationToken)
    {
        var problems = JsonlDataset.Load(data.FullName, prompt.PromptField(parse));
        RewardCatalog.CheckRows(problems, [settings.Reward], data.FullName);
        if (output is not null) OutputPaths.CheckFile(output.FullName, "--output");
        if (adapterDir is not null) ModelFolder.CheckAdapter(adapterDir.FullName);
        using var rewards = new RewardCatalog([settings.Reward], settings.Sampling.MaxNewTokens);
        var reward = rewards.Functions[0];

        using var model = ModelFolder.Open(modelDir.FullName, settings.Sampling.MaxNewTokens, "--max-new-tokens", compute);
        if (adapterDir is not null) model.LoadAdapter(adapterDir.FullName);
        bool chat = prompt.UseChat(parse, model);
        var prompts = problems.Select(p => model.FormatPrompt(p.Prompt, chat, prompt.SystemPrompt(parse))).ToList();
        var sampling = settings.Sampling with { EosTokenIds = model.EosTokenIds };

        // Greedy: top-k 1 picks the most likely token at every step, whatever the temperature.
        var greedy = Generate(model, prompts, 1, sampling with { TopK = 1 }, cancellationToken);
        var greedyCorrect = await CorrectAsync(reward, problems, greedy, cancellationToken);
        var sampled = settings.Samples == 0 ? new string[problems.Count][] : Generate(model, prompts, settings.Samples, sampling, cancellationToken);
        var sampledCorrect = settings.Samples == 0 ? null : await CorrectAsync(reward, problems, sampled, cancellationToken);

        var results = new List<RowResult>(problems.Count);
        for (int i = 0; i < problems.Count; i++)
        {
            if (sampledCorrect is null)
            {
                results.Add(new RowResult(greedy[i][0], greedyCorrect[i][0], [], 0, double.NaN, null, null));
                continue;
            }
            int c = sampledCorrect[i].Count(x => x);
            var firstK = sampled[i].Take(settings.K).ToList();
            var (majority, majorityCorrect) = settings.Reward == "math"
                ? (MajorityVote.Winner(firstK)?.Answer, (bool?)MajorityVote.IsCorrect(new RewardInput("", "", [], problems[i].Fields).Field("answer")!, firstK))
                : (null, null);
            results.Add(new RowResult(greedy[i][0], greedyCorrect[i][0], sampled[i], c, PassAtK.Estimate(settings.Samples, c, settings.K), majority, majorityCorrect));
        }

        if (output is not null) WriteRows(output.FullName, problems, results);
        await parse.InvocationConfiguration.Output.WriteAsync(Table(modelDir, adapterDir, settings, results));
        return 0;
    }

    /// <summary>[problem][sample] completion texts, <paramref name="n"/> per prompt.</summary>
    static string[][] Generate(ModelFolder model, List<string> prompts, int n, SamplingOptions options, CancellationToken cancellationToken)
    {
        using var sampler = new GroupSampler(model.Model, model.Tokenizer, options);
        var completions = sampler.Sample(prompts, n, cancellationToken);
        return completions.GroupBy(c => c.PromptIndex).OrderBy(g => g.Key).Select(g => g.Select(c => c.Text).ToArray()).ToArray();
    }

    /// <summary>[problem][sample] whether the reward scored the completion fully right (1.0).</summary>
    static async Task<bool[][]> CorrectAsync(IRewardFunction reward, IReadOnlyList<Problem> problems, string[][] completions, CancellationToken cancellationToken)
    {
        var inputs = completions.SelectMany((texts, i) => texts.Select(text => new RewardInput(problems[i].Prompt, text, [], problems[i].Fields))).ToList();
        var scores = await reward.ScoreAsync(inputs, cancellationToken);
        int at = 0;
        return completions.Select(texts => texts.Select(_ => scores[at++] == 1.0).ToArray()).ToArray();
    }

    static string Table(DirectoryInfo modelDir, DirectoryInfo? adapterDir, Settings settings, List<RowResult> results)
    {
        var table = new System.Text.StringBuilder();
        void Row(string name, string value) => table.Append(CultureInfo.InvariantCulture, $"{name,-12}{value}\n");
        int greedy = results.Count(r => r.GreedyCorrect);
        Row("model", modelDir.FullName + (adapterDir is null ? "" : $" + adapter {adapterDir.FullName}"));
        Row("problems", results.Count.ToString(CultureInfo.InvariantCulture));
        Row("greedy", string.Create(CultureInfo.InvariantCulture, $"{greedy / (double)results.Count:0.000}  ({greedy}/{results.Count})"));
        if (settings.Samples > 0)
        {
            Row($"pass@{settings.K}", string.Create(CultureInfo.InvariantCulture,
                $"{results.Average(r => r.PassAtK):0.000}  (n = {settings.Samples} samples per problem, temperature {settings.Sampling.Temperature})"));
            Row($"maj@{settings.K}", settings.Reward == "math"
                ? string.Create(CultureInfo.InvariantCulture, $"{results.Count(r => r.MajorityCorrect == true) / (double)results.Count:0.000}")
                : "n/a (majority vote needs final answers; use --reward math)");
        }
        return table.ToString();
    }

    static void WriteRows(string path, IReadOnlyList<Problem> problems, List<RowResult> results)
    {
        using var stream = File.Create(path);
        for (int i = 0; i < results.Count; i++)
        {
            var r = results[i];
            using (var json = new Utf8JsonWriter(stream, OutputJson))
            {
                json.WriteStartObject();
                json.WriteNumber("row", i + 1);
                json.WriteString("prompt", problems[i].Prompt);
                json.WriteString("greedy", r.Greedy);
                json.WriteBoolean("greedy_correct", r.GreedyCorrect);
                if (r.Samples.Length > 0)
                {
                    json.WriteNumber("samples", r.Samples.Length);
                    json.WriteNumber("correct", r.Correct);
                    json.WriteNumber("pass_at_k", r.PassAtK);
                    if (r.MajorityCorrect is { } majorityCorrect)
                    {
                        if (r.MajorityAnswer is null) json.WriteNull("majority_answer");
                        else json.WriteString("majority_answer", r.MajorityAnswer);
                        json.WriteBoolean("majority_correct", majorityCorrect);
                    }
                    json.WriteStartArray("completions");
                    foreach (var text in r.Samples) json.WriteStringValue(text);
                    json.WriteEndArray();
                }
                json.WriteEndObject();
            }
            stream.WriteByte((byte)'\n');
        }
    }
}
