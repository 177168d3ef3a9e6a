using System.Net;
using System.Net.Http.Headers;
using System.Text;
using System.Text.Json;
using Grpo.Cli.Serve;
using Grpo.Lora;
using Grpo.Modeling;
using Grpo.Training;
using static TorchSharp.torch;

namespace Grpo.Cli.Tests;

/// <summary>
/// <c>grpo serve</c>'s host started in-process on a free loopback port over a tiny model folder, with an adapter root
/// beside it, and an HTTP client pointed at it. Also recomputes log-probs the way the trainer does, to check the server's.
/// </summary>
sealed class ServeTestServer : IAsyncDisposable
{
    public const string ModelName = "tiny";

    readonly string _directory = Directory.CreateTempSubdirectory("grpo-cli-serve-").FullName;

    ServeTestServer() { }

    public string ModelPath => Path.Combine(_directory, "model");
    public string AdapterRoot => Path.Combine(_directory, "adapters");
    public ServeHost Host { get; private set; } = null!;
    public HttpClient Client { get; } = new();

    public static async Task<ServeTestServer> StartAsync(ServeSettings? settings = null, bool alwaysSeven = false)
    {
        var server = new ServeTestServer();
        TinyModelFolder.Create(server.ModelPath, alwaysSeven: alwaysSeven);
        Directory.CreateDirectory(server.AdapterRoot);
        settings ??= new ServeSettings();
        settings = settings with { Port = 0, AdapterRoot = settings.AdapterRoot ?? server.AdapterRoot };
        var models = new ServedModels(ModelFolder.Open(server.ModelPath, 1, "max_tokens", (TorchSharp.torch.CPU, TorchSharp.torch.ScalarType.Float32)), ModelName, settings.AdapterRoot, settings.MaxLoras);
        server.Host = await ServeHost.StartAsync(models, settings, CancellationToken.None);
        server.Client.BaseAddress = server.Host.Address;
        return server;
    }

    /// <summary>POSTs <paramref name="json"/> and returns the status and the parsed body (or the text, for non-JSON answers).</summary>
    public async Task<(HttpStatusCode Status, JsonElement Body, string Text)> PostAsync(string path, string json, string? apiKey = null, CancellationToken cancellationToken = default)
    {
        using var request = new HttpRequestMessage(HttpMethod.Post, path) { Content = new StringContent(json, Encoding.UTF8, "application/json") };
        if (apiKey is not null) request.Headers.Authorization = new AuthenticationHeaderValue("Bearer", apiKey);
        using var response = await Client.SendAsync(request, cancellationToken);
        var text = await response.Content.ReadAsStringAsync(cancellationToken);
        var body = response.Content.Headers.ContentType?.MediaType == "application/json" ? JsonDocument.Parse(text).RootElement.Clone() : default;
        return (response.StatusCode, body, text);
    }

    public static int[] Ints(JsonElement array) => array.EnumerateArray().Select(e => e.GetInt32()).ToArray();

    /// <summary>
    /// Saves an adapter of rank <paramref name="rank"/> on this server's model, with B drawn at random so that it changes
    /// the outputs (a fresh adapter's B is zero), under the adapter root; returns its folder.
    /// </summary>
    public string SaveAdapter(string name, int rank = 4, long seed = 7) => SaveAdapter(ModelPath, Path.Combine(AdapterRoot, name), rank, seed);

    /// <summary>As <see cref="SaveAdapter(string, int, long)"/>, on the model in <paramref name="modelPath"/>, into <paramref name="folder"/>.</summary>
    public static string SaveAdapter(string modelPath, string folder, int rank = 4, long seed = 7)
    {
        using var model = Checkpoint.Load(modelPath);
        var lora = LoraModel.Apply(model, new LoraOptions { Rank = rank, Alpha = 2 * rank }, Path.GetFullPath(modelPath));
        using (no_grad())
        {
            using var generator = new Generator((ulong)seed);
            foreach (var (_, layer) in lora.Layers)
                layer.lora!.B.copy_(randn(layer.lora.B.shape, generator: generator) * 0.5);
        }
        lora.Save(folder);
        return folder;
    }

    /// <summary>
    /// The trainer's log-probs of <paramref name="completion"/> after <paramref name="prompt"/>: one forward pass over
    /// both, the hidden states before each completion token, <see cref="TokenLogProbs.Compute"/> at the temperature
    /// (as GrpoStep computes them). With <paramref name="adapter"/>, on the model with that adapter loaded.
    /// </summary>
    public float[] TrainerLogProbs(int[] prompt, int[] completion, double temperature, string? adapter = null)
    {
        using var scope = NewDisposeScope();
        using var model = Checkpoint.Load(ModelPath);
        if (adapter is not null) LoraModel.Load(model, adapter);
        model.eval();
        using var noGrad = no_grad();
        long[] ids = [.. prompt.Select(i => (long)i), .. completion.Select(i => (long)i)];
        var hidden = model.HiddenStates(tensor(ids, [1, ids.Length]));
        var predicting = hidden.narrow(1, prompt.Length - 1, completion.Length);
        var targets = tensor(completion.Select(i => (long)i).ToArray(), [1, completion.Length]);
        return TokenLogProbs.Compute(predicting, model.LmHeadWeight, null, targets, temperature).flatten().data<float>().ToArray();
    }

    public async ValueTask DisposeAsync()
    {
        Client.Dispose();
        await Host.DisposeAsync();
        Directory.Delete(_directory, recursive: true);
    }
}
