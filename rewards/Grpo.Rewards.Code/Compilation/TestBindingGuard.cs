using Microsoft.CodeAnalysis;
using Microsoft.CodeAnalysis.CSharp;
using Microsoft.CodeAnalysis.CSharp.Syntax;
using Microsoft.CodeAnalysis.Text;

namespace Grpo.Rewards.Code.Compilation;

/// <summary>
/// Makes sure the tests test the solution rather than something the completion slipped in. A model under RL will
/// find that a completion can close the method early and then declare its own <c>CompareLogic</c>, <c>Main</c> or
/// an overload the test binds to, or comment the test out; each of these compiles, and each would score 1.0.
/// </summary>
internal static class TestBindingGuard
{
    /// <summary>
    /// MBXP: finds the test's Main (it must be a method declared wholly inside the test text) and checks that
    /// everything the test binds to is the library, the test itself, or what the prompt declared. Returns the
    /// problem, or null and the Main's declaring type.
    /// </summary>
    public static string? CheckMbxp(SemanticModel model, ProgramSource source, out string entryType, CancellationToken cancellationToken)
    {
        entryType = "";
        var root = model.SyntaxTree.GetRoot(cancellationToken);
        var mains = root.DescendantNodes()
            .OfType<MethodDeclarationSyntax>()
            .Where(m => m.Identifier.Text == "Main" && source.TestSpan.Contains(m.Span))
            .ToList();
        if (mains.Count != 1 || model.GetDeclaredSymbol(mains[0], cancellationToken) is not { IsStatic: true } main)
            return "the test's Main is not a static method of the program; the completion must leave the prompt's method open exactly once (check its braces, comments and strings)";

        // The completion's declarations can reach the test only by name (or by new() and operators on them, which
        // need a value of a type the completion declared, and so a name first).
        foreach (var node in root.DescendantNodes(source.TestSpan).OfType<SimpleNameSyntax>().Where(n => source.TestSpan.Contains(n.Span)))
            if (model.GetSymbolInfo(node, cancellationToken).Symbol is { } symbol and not INamespaceSymbol
                && DeclaredOutside(symbol, source.PromptSpan, source.TestSpan) is { } location)
                return $"the test's '{node}' binds to '{symbol.ToDisplayString()}', which the completion declares (line {location}); the test must call the prompt's method";
        entryType = MetadataName(main.ContainingType);
        return null;
    }

    /// <summary>
    /// List layout: test statements may call the solution, but not through operators, conversions, extension
    /// methods or Equals/GetHashCode/ToString overrides that the completion declares: those could make any
    /// comparison come out true.
    /// </summary>
    public static string? CheckTestList(SemanticModel testModel, CancellationToken cancellationToken)
    {
        foreach (var node in testModel.SyntaxTree.GetRoot(cancellationToken).DescendantNodes())
        {
            var methods = new List<IMethodSymbol?> { testModel.GetSymbolInfo(node, cancellationToken).Symbol as IMethodSymbol };
            if (node is ExpressionSyntax expression)
                methods.Add(testModel.GetConversion(expression, cancellationToken).MethodSymbol);
            foreach (var method in methods)
                if (method is not null && method.Locations.Any(l => l.IsInSource) && IsComparisonHook(method))
                    return $"the test '{node}' binds to '{method.ToDisplayString()}', which the completion declares; tests may not run the completion's operators, conversions, extension methods or Equals/ToString/GetHashCode";
        }
        return null;
    }

    static bool IsComparisonHook(IMethodSymbol method) =>
        method.MethodKind is MethodKind.UserDefinedOperator or MethodKind.Conversion
        || method.IsExtensionMethod
        || method.ReducedFrom is not null
        || (method.IsOverride && method.Name is "Equals" or "GetHashCode" or "ToString");

    // The 1-based line of a source declaration outside the trusted spans, or null when there is none.
    static int? DeclaredOutside(ISymbol symbol, TextSpan prompt, TextSpan test)
    {
        var definition = symbol is ITypeSymbol type ? type.OriginalDefinition : symbol.OriginalDefinition;
        foreach (var location in definition.Locations)
            if (location.IsInSource && !prompt.Contains(location.SourceSpan) && !test.Contains(location.SourceSpan))
                return location.GetLineSpan().StartLinePosition.Line + 1;
        return null;
    }

    // The name Assembly.GetType understands: namespace, then nested types joined by '+'.
    static string MetadataName(INamedTypeSymbol type)
    {
        var name = type.MetadataName;
        for (var outer = type.ContainingType; outer is not null; outer = outer.ContainingType)
            name = outer.MetadataName + "+" + name;
        return type.ContainingNamespace is { IsGlobalNamespace: false } ns ? $"{ns.ToDisplayString()}.{name}" : name;
    }
}
