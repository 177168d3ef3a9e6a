using System.Text.Json;
using Grpo.Rewards.Code.Compilation;
using Grpo.Rewards.Code.Execution;

namespace Grpo.Rewards.Code;

/// <summary>
/// Compiles and runs generated C# against a problem's tests, safely, and says how it went. Programs are compiled
/// in parallel with Roslyn, checked against the API policy, and run in a pool of sandboxed worker processes with a
/// time, memory and output limit each; identical programs are scored once. One instance serves any number of
/// concurrent callers; share it between rewards and dispose it to stop its workers.
/// </summary>
/// <remarks>
/// Two dataset layouts. MBXP: the row's <c>prompt</c> ends inside a method, the completion continues it, and the
/// row's <c>test</c> holds a <c>Main</c> that throws on the first failure; the program passes when that Main returns.
/// List: the completion is a whole program and the row's <c>tests</c> is an array of C# statements, each one test,
/// scored as the fraction that complete without throwing.
/// </remarks>
public sealed class CodeVerifier : IDisposable
{
    // Compiled images are a few KB each; results are tiny. Enough images to cover one training batch.
    const int MaxCompiledCached = 1024;

    readonly ProgramCompiler _compiler;
    readonly SemaphoreSlim _compileSlots = new(Environment.ProcessorCount);
    readonly BoundedCache<CompiledProgram> _compiled;
    readonly BoundedCache<CodeResult> _results;
    readonly Lazy<WorkerPool> _pool; // started on first run, so compile-only use starts no process

    /// <summary>Creates a verifier; workers start when the first program runs.</summary>
    /// <exception cref="ArgumentOutOfRangeException">An option is out of range; the message says which.</exception>
    public CodeVerifier(CodeVerifierOptions? options = null)
    {
        Options = options ?? new CodeVerifierOptions();
        Options.Validate();
        _compiler = new ProgramCompiler(Options.ImplicitUsings, Options.CheckApis);
        _compiled = new BoundedCache<CompiledProgram>(Math.Min(Options.CacheSize, MaxCompiledCached));
        _results = new BoundedCache<CodeResult>(Options.CacheSize);
        _pool = new Lazy<WorkerPool>(() => new WorkerPool(Options, Path.GetTempPath()));
    }

    /// <summary>The options in force.</summary>
    public CodeVerifierOptions Options { get; }

    /// <summary>Scores an MBXP-layout completion: <paramref name="prompt"/> + the extracted code + <paramref name="test"/>.</summary>
    public Task<CodeResult> VerifyMbxpAsync(string prompt, string completion, string test, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(prompt);
        ArgumentNullException.ThrowIfNull(test);
        return Extract(completion, out var code) is { } notRun
            ? Task.FromResult(notRun)
            : VerifyAsync(ProgramSource.ForMbxp(prompt, code, test), cancellationToken);
    }

    /// <summary>Scores a whole-program completion against test statements: the fraction that complete without throwing.</summary>
    /// <exception cref="ArgumentException"><paramref name="tests"/> is empty.</exception>
    public Task<CodeResult> VerifyTestsAsync(string completion, IReadOnlyList<string> tests, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(tests);
        if (tests.Count == 0)
            throw new ArgumentException("Give at least one test statement, e.g. \"Debug.Assert(Add(1, 2) == 3);\".", nameof(tests));
        return Extract(completion, out var code) is { } notRun
            ? Task.FromResult(notRun)
            : VerifyAsync(ProgramSource.ForTestList(code, tests, Options.ImplicitUsings), cancellationToken);
    }

    /// <summary>
    /// Scores a reward input by its row: <c>tests</c> (an array of statements) for the list layout, else <c>test</c>
    /// with <c>prompt</c> (or the input's prompt) for MBXP. Null when the row has neither: the reward does not apply.
    /// </summary>
    public Task<CodeResult?> VerifyAsync(RewardInput input, CancellationToken cancellationToken = default) =>
        ForRow(input, run: true, cancellationToken);

    /// <summary>As <see cref="VerifyAsync(RewardInput, CancellationToken)"/>, but only compiles and checks: nothing runs, and a
    /// successful result says only that the program compiled (<see cref="CodeResult.Compiled"/>), with a score of 0.</summary>
    public Task<CodeResult?> CompileAsync(RewardInput input, CancellationToken cancellationToken = default) =>
        ForRow(input, run: false, cancellationToken);

    async Task<CodeResult?> ForRow(RewardInput input, bool run, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(input);
        ProgramSource? source;
        if (input.Row.TryGetValue("tests", out var tests) && tests.ValueKind == JsonValueKind.Array)
        {
            var statements = tests.EnumerateArray().Select(t => t.ValueKind == JsonValueKind.String ? t.GetString()! : t.GetRawText()).ToArray();
            if (statements.Length == 0)
                return null;
            if (Extract(input.Completion, out var code) is { } notRun)
                return notRun;
            source = ProgramSource.ForTestList(code, statements, Options.ImplicitUsings);
        }
        else if (input.Field("test") is { } test)
        {
            if (Extract(input.Completion, out var code) is { } notRun)
                return notRun;
            source = ProgramSource.ForMbxp(input.Field("prompt") ?? input.Prompt, code, test);
        }
        else
        {
            return null;
        }

        if (run)
            return await VerifyAsync(source, cancellationToken);
        var program = await CompileAsync(source, cancellationToken);
        return CodeResult.NotRun(program.Failure ?? "compiled", compiled: program.Failure is null);
    }

    Task<CodeResult> VerifyAsync(ProgramSource source, CancellationToken cancellationToken) =>
        _results.GetOrAddAsync(source.Key, async () =>
        {
            var program = await CompileAsync(source, cancellationToken);
            return program.Failure is not null
                ? CodeResult.NotRun(program.Failure)
                : await _pool.Value.RunAsync(program, cancellationToken);
        });

    Task<CompiledProgram> CompileAsync(ProgramSource source, CancellationToken cancellationToken) =>
        _compiled.GetOrAddAsync(source.Key, async () =>
        {
            await _compileSlots.WaitAsync(cancellationToken);
            try
            {
                return await Task.Run(() => _compiler.Compile(source, cancellationToken), cancellationToken);
            }
            finally
            {
                _compileSlots.Release();
            }
        });

    // The code to compile, or the result for a completion that has none.
    CodeResult? Extract(string completion, out string code)
    {
        ArgumentNullException.ThrowIfNull(completion);
        code = CodeExtractor.Extract(completion, Options.Extraction) ?? "";
        if (string.IsNullOrWhiteSpace(completion))
            return CodeResult.NotRun("empty completion");
        if (string.IsNullOrWhiteSpace(code))
            return CodeResult.NotRun(Options.Extraction == CodeExtraction.RequireFenced && !completion.Contains("```") ? "no code block" : "empty code block");
        return null;
    }

    /// <summary>Stops the worker processes and deletes their temporary folders.</summary>
    public void Dispose()
    {
        if (_pool.IsValueCreated)
            _pool.Value.Dispose();
        _compileSlots.Dispose();
    }
}
