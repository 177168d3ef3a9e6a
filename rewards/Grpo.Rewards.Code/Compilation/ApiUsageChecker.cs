using Microsoft.CodeAnalysis;
using Microsoft.CodeAnalysis.CSharp;
using Microsoft.CodeAnalysis.CSharp.Syntax;

namespace Grpo.Rewards.Code.Compilation;

/// <summary>
/// Walks a compiled program and reports the first thing <see cref="ApiPolicy"/> denies. It asks the semantic model
/// what each name and expression binds to, so aliases, <c>using static</c>, <c>var</c>, extension methods and
/// fully qualified names are all seen for what they are; the text is never searched.
/// </summary>
internal static class ApiUsageChecker
{
    /// <summary>The first violation in <paramref name="tree"/> as "line N: reason", or null when it is clean.</summary>
    public static string? FindViolation(SemanticModel model, SyntaxTree tree, CancellationToken cancellationToken)
    {
        foreach (var node in tree.GetRoot(cancellationToken).DescendantNodes())
        {
            if (DeclarationViolation(node) is { } declaration)
                return At(node, declaration);
            if (model.GetSymbolInfo(node, cancellationToken).Symbol is { } symbol && ApiPolicy.Violation(symbol) is { } use)
                return At(node, $"uses {use}");
            if (node is ExpressionSyntax expression)
            {
                var type = model.GetTypeInfo(expression, cancellationToken);
                foreach (var t in new[] { type.Type, type.ConvertedType })
                    if (t is not null && ApiPolicy.Violation(t) is { } typeUse)
                        return At(node, $"uses {typeUse}");
            }
        }
        return null;
    }

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
