using Microsoft.CodeAnalysis;
using Microsoft.CodeAnalysis.CSharp;
using Microsoft.CodeAnalysis.CSharp.Syntax;

namespace Grpo.Rewards.Code.Compilation;

/// <summary>
/// Walks a compiled program and reports the first thing <see cref="ApiPolicy"/> denies. It asks the semantic model
/// what each name binds to, so aliases, <c>using static</c>, <c>var</c>, extension methods and fully qualified
/// names are all seen for what they are; the text is never searched.
/// </summary>
/// <remarks>
/// A denied type can only be reached by naming it, by calling a member that returns it, or by <c>new()</c>; so
/// the walk binds names, object creations and indexers, and checks each member's own type too. Binding every
/// expression would find nothing more and doubles the cost of a compile.
/// </remarks>
internal static class ApiUsageChecker
{
    /// <summary>The first violation in <paramref name="tree"/> as "line N: reason", or null when it is clean.</summary>
    public static string? FindViolation(SemanticModel model, SyntaxTree tree, CancellationToken cancellationToken)
    {
        foreach (var node in tree.GetRoot(cancellationToken).DescendantNodes())
        {
            if (DeclarationViolation(node) is { } declaration)
                return At(node, declaration);
            if (node is not (SimpleNameSyntax or BaseObjectCreationExpressionSyntax or ElementAccessExpressionSyntax))
                continue;
            if (model.GetSymbolInfo(node, cancellationToken).Symbol is not { } symbol)
                continue;
            if ((ApiPolicy.Violation(symbol) ?? (MemberType(symbol) is { } type ? ApiPolicy.Violation(type) : null)) is { } use)
                return At(node, $"uses {use}");
        }
        return null;
    }

    static ITypeSymbol? MemberType(ISymbol symbol) => symbol switch
    {
        IMethodSymbol method => method.ReturnType,
        IPropertySymbol property => property.Type,
        IFieldSymbol field => field.Type,
        IEventSymbol @event => @event.Type,
        _ => null,
    };

    // Declarations that need no API to be dangerous.
    static string? DeclarationViolation(SyntaxNode node) => node switch
    {
        DestructorDeclarationSyntax => "declares a finalizer, which would run on the runtime's thread after the program ends",
        MemberDeclarationSyntax member when member.Modifiers.Any(SyntaxKind.ExternKeyword) => "declares an extern (native) method",
        LocalFunctionStatementSyntax local when local.Modifiers.Any(SyntaxKind.ExternKeyword) => "declares an extern (native) method",
        _ => null,
    };

    static string At(SyntaxNode node, string reason) =>
        $"line {node.GetLocation().GetLineSpan().StartLinePosition.Line + 1}: {reason}";
}
