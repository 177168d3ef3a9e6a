using Microsoft.CodeAnalysis;
using Microsoft.CodeAnalysis.CSharp;

namespace Grpo.Rewards.Code.Compilation;

/// <summary>
/// Compiles a <see cref="ProgramSource"/> with Roslyn into an in-memory assembly, then runs the checks that decide
/// whether it may run: the tests bind to the solution (<see cref="TestBindingGuard"/>) and the code stays inside
/// the allowed APIs (<see cref="ApiUsageChecker"/>). Thread-safe; compile many programs in parallel.
/// </summary>
internal sealed class ProgramCompiler
{
    const int MaxErrorsReported = 5;

    // Every program is compiled as a derivative of this one, so Roslyn binds the referenced assemblies once.
    readonly CSharpCompilation _base;
    readonly bool _checkApis;

    public ProgramCompiler(IReadOnlyList<string> implicitUsings, bool checkApis)
    {
        var usings = CSharpSyntaxTree.ParseText(
            string.Concat(implicitUsings.Select(ns => $"global using global::{ns};\n")), path: "implicit-usings.cs");
        _base = CSharpCompilation.Create("grpo-program", [usings], AllowedReferences.All, new CSharpCompilationOptions(
            OutputKind.DynamicallyLinkedLibrary,
            optimizationLevel: OptimizationLevel.Release,
            allowUnsafe: false,
            concurrentBuild: false, // parallelism comes from compiling many programs at once
            deterministic: true,
            nullableContextOptions: NullableContextOptions.Disable));
        _checkApis = checkApis;
    }

    public CompiledProgram Compile(ProgramSource source, CancellationToken cancellationToken)
    {
        var compilation = _base.AddSyntaxTrees(source.Trees);
        using var image = new MemoryStream();
        var emitted = compilation.Emit(image, cancellationToken: cancellationToken);
        if (!emitted.Success)
            return CompiledProgram.Failed("compile error: " + DescribeErrors(emitted.Diagnostics));

        string entryType;
        IReadOnlyList<string> methods;
        string? problem;
        if (source.IsMbxp)
        {
            problem = TestBindingGuard.CheckMbxp(compilation.GetSemanticModel(source.Trees[0]), source, out entryType, cancellationToken);
            methods = ["Main"];
        }
        else
        {
            problem = TestBindingGuard.CheckTestList(compilation.GetSemanticModel(source.Trees[^1]), cancellationToken);
            entryType = ProgramSource.TestClass;
            methods = Enumerable.Range(0, source.TestCount).Select(ProgramSource.TestMethod).ToArray();
        }
        if (problem is not null)
            return CompiledProgram.Failed("rejected: " + problem);

        if (_checkApis)
            foreach (var tree in source.Trees)
                if (ApiUsageChecker.FindViolation(compilation.GetSemanticModel(tree), tree, cancellationToken) is { } violation)
                    return CompiledProgram.Failed("rejected: " + violation);

        return new CompiledProgram(image.ToArray(), entryType, methods, null);
    }

    static string DescribeErrors(IEnumerable<Diagnostic> diagnostics)
    {
        var errors = diagnostics.Where(d => d.Severity == DiagnosticSeverity.Error).ToList();
        var shown = errors.Take(MaxErrorsReported).Select(d =>
        {
            var position = d.Location.GetLineSpan();
            var where = position.IsValid ? $"{position.Path}({position.StartLinePosition.Line + 1},{position.StartLinePosition.Character + 1}): " : "";
            return $"{where}{d.Id}: {d.GetMessage()}";
        });
        var more = errors.Count > MaxErrorsReported ? $" (and {errors.Count - MaxErrorsReported} more)" : "";
        return string.Join("; ", shown) + more;
    }
}
