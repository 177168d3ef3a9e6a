using System.CommandLine;
using System.Text.Encodings.Web;
using System.Text.Json;
using Grpo.Data;
using Grpo.Sampling;

namespace Grpo.Cli;

/// <summary>
/// <c>grpo generate --model DIR (--prompt TEXT | --input FILE.jsonl)</c>: completions from a model (plus adapter):
/// the text for one prompt, or each input row back as JSONL with its <c>"completion"</c> added, in input order.
/// </summary>
static class GenerateCommand
{
    static readonly JsonWriterOptions OutputJson = new() { Encoder = JavaScriptEncoder.UnsafeRelaxedJsonEscaping };

    public static Command Create()
    {
        var model = ModelFolder.ModelOption();
        var adapter = ModelFolder.AdapterOption();
        var promptText = new Option<string?>("--prompt") { Description = "One prompt; its completion is printed as text." };
        var input = new Option<FileInfo?>("--input") { Description = "JSONL of prompts; each row is printed back with a \"completion\" field." };
        var maxNewTokens = new Option<int>("--max-new-tokens") { Description = "Most tokens generated per completion.", DefaultValueFactory = _ => 256 };
        var temperature = new Option<double>("--temperature") { Description = "Sampling temperature; 0 decodes greedily.", DefaultValueFactory = _ => 1.0 };
        var topP = new Option<double>("--top-p") { Description = "Nucleus sampling mass, in (0, 1]; 1 is off.", DefaultValueFactory = _ => 1.0 };
        var seed = new Option<long>("--seed") { Description = "Seed of the sampler; the same seed gives the same completions.", DefaultValueFactory = _ => 0 };
        var prompt = new PromptOptions();
        var compute = new ComputeOptions();

        var command = new Command("generate", "Print a model's completions of a prompt or of each row of a JSONL file.")
        {
            model, adapter, promptText, input, maxNewTokens, temperature, topP, seed,
        };
        prompt.AddTo(command);
        compute.AddTo(command);
        command.Validators.Add(result =>
        {
            if ((result.GetValue(promptText) is null) == (result.GetValue(input) is null))
                result.AddError("Give exactly one of --prompt TEXT or --input FILE.jsonl.");
        });
        command.SetAction((parse, cancellationToken) => CommandErrors.RunAsync("generate", parse.InvocationConfiguration.Error, async () =>
        {
            // Checked here rather than in a validator: validators see options' defaults as unset.
            double t = parse.GetValue(temperature);
            if (parse.GetValue(maxNewTokens) < 1) throw new ArgumentException("--max-new-tokens must be at least 1.");
            if (!(t >= 0) || double.IsInfinity(t)) throw new ArgumentException("--temperature must be 0 (greedy) or above.");
            if (parse.GetValue(topP) is not (> 0 and <= 1)) throw new ArgumentException("--top-p must lie in (0, 1]; 1 turns nucleus sampling off.");
            var sampling = new SamplingOptions
            {
                // Greedy is top-k 1; the temperature then no longer matters, but must stay valid.
                Temperature = t == 0 ? 1.0 : t,
                TopK = t == 0 ? 1 : 0,
                TopP = parse.GetValue(topP),
                MaxNewTokens = parse.GetValue(maxNewTokens),
                Seed = parse.GetValue(seed),
            };
            var rows = parse.GetValue(input) is { } file
                ? JsonlDataset.Load(file.FullName, prompt.PromptField(parse))
                : null;

            var adapterDir = parse.GetValue(adapter);
            if (adapterDir is not null) ModelFolder.CheckAdapter(adapterDir.FullName);
            using var folder = ModelFolder.Open(parse.GetValue(model)!.FullName, sampling.MaxNewTokens, "--max-new-tokens", compute.Apply(parse));
            if (adapterDir is not null) folder.LoadAdapter(adapterDir.FullName);
            bool chat = prompt.UseChat(parse, folder);
            var prompts = (rows?.Select(r => r.Prompt) ?? [parse.GetValue(promptText)!])
                .Select(p => folder.FormatPrompt(p, chat, prompt.SystemPrompt(parse))).ToList();

            using var sampler = new GroupSampler(folder.Model, folder.Tokenizer, sampling with { EosTokenIds = folder.EosTokenIds });
            var completions = sampler.Sample(prompts, 1, cancellationToken);
            var stdout = parse.InvocationConfiguration.Output;
            if (rows is null)
                await stdout.WriteLineAsync(completions[0].Text);
            else
                for (int i = 0; i < rows.Count; i++)
                    await stdout.WriteLineAsync(RowWithCompletion(rows[i], completions[i].Text));
            return 0;
        }));
        return command;
    }

    static string RowWithCompletion(Problem row, string completion)
    {
        using var buffer = new MemoryStream();
        using (var json = new Utf8JsonWriter(buffer, OutputJson))
        {
            json.WriteStartObject();
            foreach (var (name, value) in row.Fields.Where(f => f.Key != "completion"))
            {
                json.WritePropertyName(name);
                value.WriteTo(json);
            }
            json.WriteString("completion", completion);
            json.WriteEndObject();
        }
        return System.Text.Encoding.UTF8.GetString(buffer.ToArray());
    }
}
