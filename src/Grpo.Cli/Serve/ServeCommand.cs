using System.CommandLine;

namespace Grpo.Cli.Serve;

/// <summary>
/// <c>grpo serve --model DIR [--adapter-root DIR] [--host 127.0.0.1] [--port 8000] [--api-key KEY]</c>: an
/// OpenAI-compatible server over the model (vLLM's request and response shapes, LoRA adapters hot-loaded by name), for
/// trying a trained adapter from any OpenAI client and as a rollout server for <c>grpo train</c>. Prints one line on
/// stdout once it listens, <c>listening on http://HOST:PORT</c>, and serves until Ctrl+C or SIGTERM, then stops cleanly
/// (requests still queued get 503) and exits 0.
/// </summary>
static class ServeCommand
{
    public static Command Create()
    {
        var model = ModelFolder.ModelOption();
        var adapterRoot = new Option<DirectoryInfo?>("--adapter-root")
        {
            Description = "The folder adapters may be loaded from by /v1/load_lora_adapter (paths inside it, or relative to it). [default: none; loading is refused]",
        };
        var host = new Option<string>("--host") { Description = "Address to listen on; 0.0.0.0 opens it to other machines.", DefaultValueFactory = _ => "127.0.0.1" };
        var port = new Option<int>("--port") { Description = "Port to listen on; 0 picks a free one (the address line on stdout says which).", DefaultValueFactory = _ => 8000 };
        var apiKey = new Option<string?>("--api-key") { Description = "Require 'Authorization: Bearer KEY' on every /v1 request (vLLM's --api-key). [default: none]" };
        var servedName = new Option<string?>("--served-model-name") { Description = "The name requests give for the base model. [default: the --model argument as given, as vLLM names it]" };
        var maxQueue = new Option<int>("--max-queue") { Description = "Most requests waiting for the model; more are refused with 503.", DefaultValueFactory = _ => 256 };
        var maxBatchRows = new Option<int>("--max-batch-rows") { Description = "Most completions (prompts × n) decoding at once: the KV cache's slots; a larger request decodes alone.", DefaultValueFactory = _ => 64 };
        var loraModules = new Option<string[]>("--lora-modules")
        {
            Description = "Adapters to serve from the start, as NAME=PATH (PEFT folders; vLLM's --lora-modules); requests name them as 'model'. [default: none]",
            AllowMultipleArgumentsPerToken = true,
        };
        var compute = new ComputeOptions();
        var maxLoras = new Option<int>("--max-loras") { Description = "Most adapters loaded at once; each holds only its LoRA matrices, on the one copy of the base weights.", DefaultValueFactory = _ => 2 };

        var command = new Command("serve", "Serve the model over an OpenAI-compatible HTTP API (completions, chat, LoRA adapters loaded by name).")
        {
            model, adapterRoot, host, port, apiKey, servedName, maxQueue, maxBatchRows, loraModules, maxLoras,
        };
        compute.AddTo(command);
        command.SetAction((parse, cancellationToken) => CommandErrors.RunAsync("serve", parse.InvocationConfiguration.Error, async () =>
        {
            var settings = new ServeSettings
            {
                Host = parse.GetValue(host)!,
                Port = parse.GetValue(port),
                ApiKey = parse.GetValue(apiKey),
                AdapterRoot = parse.GetValue(adapterRoot)?.FullName,
                ServedModelName = parse.GetValue(servedName),
                MaxQueue = parse.GetValue(maxQueue),
                MaxBatchRows = parse.GetValue(maxBatchRows),
                MaxLoras = parse.GetValue(maxLoras),
            };
            settings.Validate();
            var startupAdapters = (parse.GetValue(loraModules) ?? []).Select(ParseLoraModule).ToList();
            var modelArgument = parse.GetResult(model)!.Tokens[0].Value;
            var folder = ModelFolder.Open(parse.GetValue(model)!.FullName, 1, "--max-new-tokens", compute.Apply(parse));
            var models = new ServedModels(folder, settings.ServedModelName ?? modelArgument, settings.AdapterRoot, settings.MaxLoras);
            ServeHost server;
            try
            {
                foreach (var (name, path) in startupAdapters)
                    LoadStartupAdapter(models, name, path);
                server = await ServeHost.StartAsync(models, settings, cancellationToken);
            }
            catch
            {
                models.Dispose();
                throw;
            }
            await using (server)
            {
                await parse.InvocationConfiguration.Output.WriteLineAsync($"listening on {server.Address.ToString().TrimEnd('/')}");
                await parse.InvocationConfiguration.Output.FlushAsync(CancellationToken.None);
                try
                {
                    await Task.Delay(Timeout.Infinite, cancellationToken);
                }
                catch (OperationCanceledException)
                {
                    // Ctrl+C or SIGTERM: the way a server is meant to stop.
                }
            }
            await parse.InvocationConfiguration.Error.WriteLineAsync("grpo serve: stopped.");
            return 0;
        }));
        return command;
    }

    static (string Name, string Path) ParseLoraModule(string module) =>
        module.Split('=', 2) is [var name, var path] && name != "" && path != ""
            ? (name, path)
            : throw new ArgumentException($"--lora-modules '{module}' is not NAME=PATH; give the adapter's name, '=', and its folder, e.g. mine=runs/x/adapter.");

    /// <summary>Loads one --lora-modules adapter, its refusal turned into the command's one-line error.</summary>
    static void LoadStartupAdapter(ServedModels models, string name, string path)
    {
        try
        {
            models.LoadStartupAdapter(name, path);
        }
        catch (OpenAiError e)
        {
            throw new InvalidOperationException($"--lora-modules {name}={path}: {e.Message}");
        }
    }
}
