using System.Diagnostics;
using System.Globalization;
using System.Text.Json;
using Grpo.Modeling;
using Grpo.Sampling;
using Grpo.Training;
using static TorchSharp.torch;

namespace Grpo.Benchmarks;

/// <summary>
/// Grpo side by side with plain PyTorch (<c>benchmarks/peer/peer.py</c>: the same decoder written as transformers' eager
/// code, the same LoRA, the same chunked log-probs) on the same shape, dtype, sizes and thread count, each figure the
/// best of the same number of runs after one warm-up: training (forward + backward of the policy pass, as
/// <see cref="TrainingThroughput"/>), decode (one prompt prefilled once and shared by the rows, full-softmax multinomial
/// picks, as <see cref="GroupSampler"/> at top-p 1) and the chunked log-prob pass alone (<see cref="TokenLogProbs"/>).
/// Runs only where <c>python3 -c "import torch"</c> works, with the python3 on the PATH or else Debian's /usr/bin/python3
/// (<c>apt-get install python3-torch libopenblas0</c>), which a virtual environment or a newer Python on the PATH hides.
/// </summary>
internal static class PeerComparison
{
    private static readonly string[] Interpreters = ["python3", "/usr/bin/python3"];
    private static readonly Lazy<string?> Interpreter = new(() => Interpreters.FirstOrDefault(
        python => Run(python, ["-c", "import torch"], threads: 1) is { ExitCode: 0 }));

    /// <summary>The work measured: training rows × (prompt + completion), decode rows × new tokens after a 32-token prompt, log-prob rows × length.</summary>
    public sealed record Sizes(int TrainRows, int TrainPrompt, int TrainCompletion, int DecodeRows, int DecodeTokens, int LogProbRows, int LogProbLength);

    /// <summary>The work on the 20M toy shape (<see cref="BenchmarkModels.Small"/>) in <c>grpo-step --shape</c>'s table.</summary>
    public static readonly Sizes Toy = new(8, 32, 96, 8, 64, 8, 128);

    /// <summary>The work on the real shape (<see cref="BenchmarkModels.Qwen25HalfB"/>) in <c>grpo-step --shape</c>'s table.</summary>
    public static readonly Sizes Real = new(2, 32, 64, 8, 16, 2, 256);

    /// <summary>
    /// The side by side alone, for re-measuring it without the rest of <c>grpo-step --shape</c>:
    ///   dotnet run -c Release --project benchmarks/Grpo.Benchmarks -- peer [--shape 20m|qwen2.5-0.5b] [--threads N] [--repeats N]
    /// </summary>
    public static int Run(string[] args)
    {
        var shape = SamplerThroughput.StringArg(args, "--shape") ?? "20m";
        int threads = SamplerThroughput.IntArg(args, "--threads") ?? 1;
        int repeats = SamplerThroughput.IntArg(args, "--repeats") ?? 3;
        set_num_threads(threads);
        var table = new ResultTable();
        AddRows(table, shape == "20m" ? "20M" : shape, BenchmarkModels.ByName(shape), shape == "20m" ? Toy : Real, threads, repeats);
        table.Print(threads, $"peer --shape {shape} run");
        return 0;
    }

    /// <summary>Best-of seconds of each of the three measurements.</summary>
    public sealed record Figures(string Program, double TrainingSeconds, double DecodeSeconds, double LogProbSeconds);

    /// <summary>Why the peer cannot run here (no python3, no torch, no script), or null when it can.</summary>
    public static string? Unavailable()
    {
        if (Script() is null) return "benchmarks/peer/peer.py is not found above the benchmark's folder";
        return Interpreter.Value is null ? $"neither {string.Join(" nor ", Interpreters)} can import torch; apt-get install python3-torch libopenblas0" : null;
    }

    /// <summary>
    /// The side by side with plain PyTorch (<see cref="PeerComparison"/>) in float32, the dtype both run natively here
    /// (Debian's torch 1.13 has no fast bfloat16 GEMM on AVX2: about 5 GFLOP/s); a row saying why when it cannot run.
    /// </summary>
    public static void AddRows(ResultTable table, string name, ModelConfig config, Sizes s, int threads, int repeats)
    {
        if (Unavailable() is { } why)
        {
            table.Row("PyTorch peer", $"{name}: not run", why, "—", "—");
            return;
        }
        var peer = Peer(config, ScalarType.Float32, s, threads, repeats);
        var grpo = Grpo(config, ScalarType.Float32, s, repeats);
        string against = $"{peer.Program}, eager, best of {repeats}";
        double trainTokens = s.TrainRows * (s.TrainPrompt + s.TrainCompletion), decodeTokens = s.DecodeRows * s.DecodeTokens;
        table.Row("PyTorch peer", $"{name} LoRA r{GrpoStepTimings.LoraRank} float32 training, {s.TrainRows} × ({s.TrainPrompt} + {s.TrainCompletion}) tokens",
            $"{trainTokens / grpo.TrainingSeconds:F0} tokens/s", $"{against}: {trainTokens / peer.TrainingSeconds:F0} tokens/s", $"{peer.TrainingSeconds / grpo.TrainingSeconds:F2}×");
        table.Row("PyTorch peer", $"{name} float32 decode, batch {s.DecodeRows}, {s.DecodeTokens} new tokens (prefill included)",
            $"{decodeTokens / grpo.DecodeSeconds:F1} tokens/s", $"{against}: {decodeTokens / peer.DecodeSeconds:F1} tokens/s", $"{peer.DecodeSeconds / grpo.DecodeSeconds:F2}×");
        table.Row("PyTorch peer", $"{name} float32 chunked log-probs fwd + bwd, {s.LogProbRows} × {s.LogProbLength} tokens, V {config.VocabSize}",
            $"{grpo.LogProbSeconds:F3} s", $"{against}: {peer.LogProbSeconds:F3} s", $"{peer.LogProbSeconds / grpo.LogProbSeconds:F2}×");
    }

    /// <summary>The PyTorch peer's figures, run as a separate python3 process with <paramref name="threads"/> threads.</summary>
    public static Figures Peer(ModelConfig config, ScalarType dtype, Sizes s, int threads, int repeats)
    {
        var configFile = Path.GetTempFileName();
        try
        {
            File.WriteAllText(configFile, config.ToJson());
            string[] args =
            [
                Script()!, "--config", configFile, "--dtype", dtype == ScalarType.BFloat16 ? "bfloat16" : "float32", "--threads", $"{threads}",
                "--lora-rank", $"{GrpoStepTimings.LoraRank}", "--repeats", $"{repeats}",
                "--train", $"{s.TrainRows}", $"{s.TrainPrompt}", $"{s.TrainCompletion}",
                "--decode", $"{s.DecodeRows}", $"{DecodeThroughput.PromptLength}", $"{s.DecodeTokens}",
                "--logprobs", $"{s.LogProbRows}", $"{s.LogProbLength}",
            ];
            var (code, output, error) = Run(Interpreter.Value ?? throw new InvalidOperationException(Unavailable()), args, threads)
                                        ?? throw new InvalidOperationException($"{Interpreter.Value} did not start.");
            var line = output.Split('\n').LastOrDefault(l => l.StartsWith('{'))
                       ?? throw new InvalidOperationException($"The PyTorch peer exited with {code} and no result:\n{error}");
            var json = JsonDocument.Parse(line).RootElement;
            double D(string name) => json.GetProperty(name).GetDouble();
            return new Figures($"PyTorch {json.GetProperty("torch").GetString()}", D("training_seconds"), D("decode_seconds"), D("logprob_seconds"));
        }
        finally
        {
            File.Delete(configFile);
        }
    }

    /// <summary>Grpo's figures for the same work, in this process.</summary>
    public static Figures Grpo(ModelConfig config, ScalarType dtype, Sizes s, int repeats)
    {
        double training = TrainingThroughput.Passes(config, dtype, GrpoStepTimings.LoraRank, s.TrainRows, s.TrainPrompt, s.TrainCompletion, repeats).Min();

        double decode;
        using (var model = CausalLM.Create(config, seed: 0, dtype: dtype))
        {
            var tokenizer = new IdTokenizer(config.VocabSize);
            var prompt = tokenizer.Prompt(DecodeThroughput.PromptLength);
            var options = new SamplingOptions { MaxNewTokens = s.DecodeTokens, EosTokenIds = [], Seed = 1 };
            decode = BestOf(repeats, () =>
            {
                using var sampler = new GroupSampler(model, tokenizer, options);
                sampler.Sample(new List<int[]> { prompt }, s.DecodeRows);
            });
        }

        double logProbs;
        using (var generator = new Generator(0))
        using (var hidden = randn([s.LogProbRows, s.LogProbLength, config.HiddenSize], generator: generator).to(dtype).requires_grad_())
        using (var weight = randn([config.VocabSize, config.HiddenSize], generator: generator).mul(0.02).to(dtype))
        using (var targets = randint(config.VocabSize, [s.LogProbRows, s.LogProbLength], generator: generator))
        using (var upstream = randn([s.LogProbRows, s.LogProbLength], generator: generator))
            logProbs = BestOf(repeats, () =>
            {
                using (var scope = NewDisposeScope())
                    (TokenLogProbs.Compute(hidden, weight, null, targets) * upstream).sum().backward();
                hidden.grad!.Dispose();
                hidden.grad = null;
            });

        return new Figures("Grpo", training, decode, logProbs);
    }

    private static double BestOf(int repeats, Action work)
    {
        work();
        return Enumerable.Range(0, repeats).Min(_ =>
        {
            var watch = Stopwatch.StartNew();
            work();
            return watch.Elapsed.TotalSeconds;
        });
    }

    /// <summary>Runs <paramref name="python"/> with <paramref name="args"/>; null when it cannot be started (not installed).</summary>
    private static (int ExitCode, string Output, string Error)? Run(string python, IEnumerable<string> args, int threads)
    {
        var start = new ProcessStartInfo(python) { RedirectStandardOutput = true, RedirectStandardError = true };
        foreach (var a in args) start.ArgumentList.Add(a);
        start.Environment["OMP_NUM_THREADS"] = threads.ToString(CultureInfo.InvariantCulture);
        try
        {
            using var process = Process.Start(start)!;
            var error = process.StandardError.ReadToEndAsync();
            var output = process.StandardOutput.ReadToEnd();
            process.WaitForExit();
            return (process.ExitCode, output, error.Result);
        }
        catch (System.ComponentModel.Win32Exception)
        {
            return null;
        }
    }

    /// <summary>benchmarks/peer/peer.py, found in the first folder above the benchmark's binaries that has it.</summary>
    private static string? Script()
    {
        for (var dir = new DirectoryInfo(AppContext.BaseDirectory); dir is not null; dir = dir.Parent)
        {
            var path = Path.Combine(dir.FullName, "benchmarks", "peer", "peer.py");
            if (File.Exists(path)) return path;
        }
        return null;
    }
}
