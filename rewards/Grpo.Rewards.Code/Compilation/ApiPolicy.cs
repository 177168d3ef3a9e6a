using Microsoft.CodeAnalysis;

namespace Grpo.Rewards.Code.Compilation;

/// <summary>
/// Which APIs untrusted code may bind to. A completion is rejected, before anything runs, when a symbol it uses
/// (a type, a member, or the type of an expression) falls in a denied area: file system, network, processes,
/// reflection and code generation, native interop, threads and timers, and control of the runtime or the process
/// (Environment.Exit, FailFast, AppDomain, GC, console redirection). In-memory I/O stays allowed.
/// </summary>
/// <remarks>
/// Denying whole namespaces and allowing a few named types keeps the list short and fails closed: an API added to a
/// denied namespace in a later .NET is denied too. Types the program declares itself are always allowed; their
/// bodies are checked like the rest of the program.
/// </remarks>
internal static class ApiPolicy
{
    // Namespace prefix -> what it gives access to (the reason a rejection reports).
    static readonly (string Namespace, string Area)[] DeniedNamespaces =
    [
        ("System.IO", "file system"),
        ("System.Net", "network"),
        ("System.Diagnostics", "processes and diagnostics"),
        ("System.Reflection", "reflection"),
        ("System.Runtime", "runtime internals and interop"),
        ("System.Threading", "threads"),
        ("System.Timers", "timers"),
        ("System.Security", "security"),
        ("System.Resources", "resources"),
        ("System.Linq.Expressions", "code generation"),
        ("Microsoft.Win32", "the registry"),
        // CompareNetObjects also has public helpers that start processes and read files, and static settings
        // that would carry over to the next program in the same worker; tests need only its comparison API.
        ("KellermanSoftware", "comparison library internals"),
    ];

    // Safe types inside denied namespaces.
    static readonly HashSet<string> AllowedTypes =
    [
        "System.IO.StringReader", "System.IO.StringWriter", "System.IO.TextReader", "System.IO.TextWriter",
        "System.IO.MemoryStream", "System.IO.Stream", "System.IO.SeekOrigin", "System.IO.BinaryReader", "System.IO.BinaryWriter",
        "System.IO.IOException", "System.IO.EndOfStreamException", "System.IO.InvalidDataException",
        "System.Diagnostics.Debug", "System.Diagnostics.Stopwatch", "System.Diagnostics.UnreachableException",
        "System.Threading.Interlocked", "System.Threading.Volatile", "System.Threading.Monitor", "System.Threading.Lock",
        "System.Threading.CancellationToken",
        "System.Runtime.CompilerServices.MethodImplAttribute", "System.Runtime.CompilerServices.MethodImplOptions",
        "KellermanSoftware.CompareNetObjects.CompareLogic", "KellermanSoftware.CompareNetObjects.ICompareLogic",
        "KellermanSoftware.CompareNetObjects.ComparisonConfig", "KellermanSoftware.CompareNetObjects.ComparisonResult",
        "KellermanSoftware.CompareNetObjects.Difference",
    ];

    static readonly string[] AllowedNamespaces = ["System.Diagnostics.CodeAnalysis", "System.Runtime.Intrinsics"];

    // Types outside the denied namespaces that control the process or reach around the type system.
    static readonly Dictionary<string, string> DeniedTypes = new()
    {
        ["System.AppDomain"] = "runtime control",
        ["System.AppContext"] = "runtime control",
        ["System.GC"] = "runtime control",
        ["System.Activator"] = "reflection",
        ["System.TypedReference"] = "reflection",
        ["System.ArgIterator"] = "reflection",
        ["System.RuntimeArgumentHandle"] = "reflection",
        ["System.RuntimeTypeHandle"] = "reflection",
        ["System.RuntimeMethodHandle"] = "reflection",
        ["System.RuntimeFieldHandle"] = "reflection",
        ["System.ModuleHandle"] = "reflection",
    };

    // Types whose use is fine but only through these members.
    static readonly Dictionary<string, (string Area, HashSet<string> Members)> MemberAllowLists = new()
    {
        ["System.Environment"] = ("process control and environment", ["NewLine", "TickCount", "TickCount64", "ProcessorCount"]),
        ["System.Console"] = ("console redirection", ["Write", "WriteLine", "Read", "ReadLine", "Out", "Error", "In"]),
        // Type.Name and friends are declared on MemberInfo; an expression of type MemberInfo itself stays denied.
        ["System.Reflection.MemberInfo"] = ("reflection", ["Name", "ToString", "Equals", "GetHashCode"]),
        ["System.Diagnostics.Debug"] = ("debugger control", ["Assert", "Fail", "Write", "WriteLine", "WriteIf", "WriteLineIf", "Print"]),
        ["System.Type"] = ("reflection",
        [
            "Name", "FullName", "Namespace", "BaseType", "IsArray", "IsValueType", "IsPrimitive", "IsEnum", "IsClass",
            "IsInterface", "IsGenericType", "GetElementType", "GetGenericArguments", "IsAssignableFrom", "IsInstanceOfType",
            "GetTypeCode", "ToString", "Equals", "GetHashCode", "op_Equality", "op_Inequality",
        ]),
    };

    // Single members of otherwise allowed types.
    static readonly Dictionary<string, string> DeniedMembers = new()
    {
        ["System.Delegate.DynamicInvoke"] = "reflection",
        ["System.Delegate.CreateDelegate"] = "reflection",
    };

    /// <summary>Why the program may not use <paramref name="symbol"/> ("System.IO.File (file system)"), or null when it may.</summary>
    public static string? Violation(ISymbol symbol)
    {
        switch (symbol)
        {
            case ITypeSymbol type:
                return TypeViolation(type);
            case IMethodSymbol or IPropertySymbol or IFieldSymbol or IEventSymbol when symbol.ContainingType is { } owner:
                if (symbol is IMethodSymbol method && method.TypeArguments.Select(TypeViolation).FirstOrDefault(v => v is not null) is { } argument)
                    return argument;
                var ownerName = FullName(owner.OriginalDefinition);
                var name = $"{ownerName}.{symbol.Name}";
                // An allow-list decides on its own: it also admits members a listed type inherits from a denied one.
                if (MemberAllowLists.TryGetValue(ownerName, out var allowList))
                    return allowList.Members.Contains(symbol.Name) ? null : $"{name} ({allowList.Area})";
                if (TypeViolation(owner) is { } ownerViolation)
                    return ownerViolation;
                return DeniedMembers.TryGetValue(name, out var area) ? $"{name} ({area})" : null;
            default:
                // Namespaces, locals, parameters, labels: their types are checked where they are used.
                return null;
        }
    }

    static string? TypeViolation(ITypeSymbol type)
    {
        switch (type)
        {
            case IArrayTypeSymbol array:
                return TypeViolation(array.ElementType);
            case IPointerTypeSymbol or IFunctionPointerTypeSymbol:
                return $"{type.ToDisplayString()} (pointers)";
            case INamedTypeSymbol named:
                foreach (var argument in named.TypeArguments)
                    if (TypeViolation(argument) is { } violation)
                        return violation;
                var outer = named.OriginalDefinition;
                while (outer.ContainingType is { } container)
                    outer = container;
                if (outer.Locations.Any(l => l.IsInSource))
                    return null;
                var name = FullName(outer);
                if (DeniedTypes.TryGetValue(name, out var area))
                    return $"{name} ({area})";
                if (AllowedTypes.Contains(name))
                    return null;
                var ns = outer.ContainingNamespace.ToDisplayString();
                if (AllowedNamespaces.Any(allowed => IsWithin(ns, allowed)))
                    return null;
                foreach (var (denied, deniedArea) in DeniedNamespaces)
                    if (IsWithin(ns, denied))
                        return $"{name} ({deniedArea})";
                return null;
            default:
                return null;
        }
    }

    static bool IsWithin(string ns, string prefix) =>
        ns == prefix || (ns.StartsWith(prefix, StringComparison.Ordinal) && ns[prefix.Length] == '.');

    static string FullName(INamedTypeSymbol type) =>
        type.ContainingNamespace is { IsGlobalNamespace: false } ns ? $"{ns.ToDisplayString()}.{type.MetadataName}" : type.MetadataName;
}
