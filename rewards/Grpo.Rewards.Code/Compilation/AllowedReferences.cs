using KellermanSoftware.CompareNetObjects;
using Microsoft.CodeAnalysis;

namespace Grpo.Rewards.Code.Compilation;

/// <summary>
/// The assemblies a program compiles against: the core library, collections, LINQ, console, regular expressions,
/// big integers, and CompareNetObjects (MBXP's tests use it). Anything else (HTTP, file-system watchers, processes,
/// reflection emit, XML, JSON, LINQ expressions, dynamic) is simply not there, so code that names it fails to compile.
/// </summary>
/// <remarks>
/// The core library itself also holds file, thread and reflection types; <see cref="ApiPolicy"/> rejects those by symbol.
/// References are the running runtime's own assemblies, so a machine with only the .NET runtime (no SDK) can compile.
/// </remarks>
internal static class AllowedReferences
{
    static readonly string[] FrameworkAssemblies =
    [
        "System.Private.CoreLib", "System.Runtime", "netstandard",
        "System.Collections", "System.Collections.Concurrent", "System.Collections.NonGeneric", "System.Collections.Specialized",
        "System.Console", "System.Linq", "System.Memory", "System.ObjectModel",
        "System.Runtime.Numerics", "System.Numerics.Vectors",
        "System.Text.RegularExpressions", "System.Text.Encoding.Extensions",
        "System.Diagnostics.Debug", "System.Runtime.Extensions",
    ];

    /// <summary>The CompareNetObjects assembly that programs compile against and the worker loads for each program.</summary>
    public static string CompareNetObjectsPath { get; } = typeof(CompareLogic).Assembly.Location;

    // MetadataReference objects are reused so that Roslyn reads each assembly's metadata once per process.
    public static IReadOnlyList<MetadataReference> All { get; } = Create();

    static MetadataReference[] Create()
    {
        var runtimeDirectory = Path.GetDirectoryName(typeof(object).Assembly.Location)!;
        return FrameworkAssemblies
            .Select(name => Path.Combine(runtimeDirectory, name + ".dll"))
            .Append(CompareNetObjectsPath)
            .Select(path => File.Exists(path) ? MetadataReference.CreateFromFile(path)
                : throw new FileNotFoundException($"The code reward compiles against '{path}', which is missing. Run on the .NET runtime the package targets (net10.0).", path))
            .ToArray<MetadataReference>();
    }
}
