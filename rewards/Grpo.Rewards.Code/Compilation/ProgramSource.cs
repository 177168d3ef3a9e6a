using System.Security.Cryptography;
using System.Text;
using Microsoft.CodeAnalysis;
using Microsoft.CodeAnalysis.CSharp;
using Microsoft.CodeAnalysis.CSharp.Syntax;
using Microsoft.CodeAnalysis.Text;

namespace Grpo.Rewards.Code.Compilation;

/// <summary>
/// The C# to compile for one completion, assembled for one of the two dataset layouts, with the span of each part
/// so that the checks can tell the model's code from the problem's trusted text.
/// </summary>
internal sealed class ProgramSource
{
    /// <summary>The namespace and class that hold the generated test methods of the list layout.</summary>
    public const string TestClass = "Grpo.Generated.Tests";

    ProgramSource(IReadOnlyList<SyntaxTree> trees, string key, int testCount)
    {
        Trees = trees;
        Key = key;
        TestCount = testCount;
    }

    /// <summary>The syntax trees of the program: one for MBXP; the model's code and the generated tests for a list.</summary>
    public IReadOnlyList<SyntaxTree> Trees { get; }

    /// <summary>A hash of everything that decides the outcome, for the caches.</summary>
    public string Key { get; }

    /// <summary>Tests the program runs: 1 for MBXP (its Main), one per statement for a list.</summary>
    public int TestCount { get; }

    /// <summary>MBXP only: where the prompt (trusted), the model's code and the test (trusted) lie in the one tree.</summary>
    public TextSpan PromptSpan { get; private init; }

    /// <inheritdoc cref="PromptSpan"/>
    public TextSpan TestSpan { get; private init; }

    /// <summary>True for the MBXP layout (prompt + completion + a test Main), false for a list of test statements.</summary>
    public bool IsMbxp { get; private init; }

    static readonly CSharpParseOptions ParseOptions = new(LanguageVersion.Latest, DocumentationMode.None,
        // Test statements such as Debug.Assert(...) must not compile away.
        preprocessorSymbols: ["DEBUG", "TRACE"]);

    /// <summary>MBXP: the program is the prompt, then the model's continuation, then the test that holds Main.</summary>
    public static ProgramSource ForMbxp(string prompt, string code, string test)
    {
        var text = prompt + code + test;
        return new ProgramSource([CSharpSyntaxTree.ParseText(text, ParseOptions, path: "program.cs")], Hash("mbxp", prompt, code, test), 1)
        {
            IsMbxp = true,
            PromptSpan = new TextSpan(0, prompt.Length),
            TestSpan = new TextSpan(prompt.Length + code.Length, test.Length),
        };
    }

    /// <summary>
    /// List layout: the model's code as it is, and a generated class with one method per test statement. The tests
    /// import every namespace and top-level type the code declares, so they can call the solution by its simple name.
    /// </summary>
    public static ProgramSource ForTestList(string code, IReadOnlyList<string> tests, IReadOnlyList<string> implicitUsings)
    {
        var codeTree = CSharpSyntaxTree.ParseText(code, ParseOptions, path: "solution.cs");
        var testTree = CSharpSyntaxTree.ParseText(TestClassText(codeTree, tests, implicitUsings), ParseOptions, path: "tests.cs");
        return new ProgramSource([codeTree, testTree], Hash(["list", code, .. tests]), tests.Count);
    }

    /// <summary>The name of the test method for statement <paramref name="index"/> of a list.</summary>
    public static string TestMethod(int index) => $"Test{index}";

    static string TestClassText(SyntaxTree codeTree, IReadOnlyList<string> tests, IReadOnlyList<string> implicitUsings)
    {
        var root = codeTree.GetCompilationUnitRoot();
        var namespaces = root.DescendantNodes().OfType<BaseNamespaceDeclarationSyntax>()
            .Select(n => QualifiedName(n, n.Name.ToString())).Distinct();
        var types = root.DescendantNodes().OfType<BaseTypeDeclarationSyntax>()
            .Where(t => t.Parent is CompilationUnitSyntax or BaseNamespaceDeclarationSyntax)
            .Where(t => t is not TypeDeclarationSyntax { TypeParameterList: not null })
            .Select(t => QualifiedName(t, t.Identifier.Text)).Distinct();

        // The usings sit inside the namespace declaration, so that they win over any type of the same name the
        // code declares in the global namespace (a completion cannot swap in its own Debug.Assert that way).
        var text = new StringBuilder();
        text.AppendLine("namespace Grpo.Generated");
        text.AppendLine("{");
        foreach (var ns in implicitUsings.Concat(["System.Diagnostics", "KellermanSoftware.CompareNetObjects"]).Distinct())
            text.AppendLine($"    using global::{ns};");
        foreach (var ns in namespaces)
            text.AppendLine($"    using global::{ns};");
        foreach (var type in types)
            text.AppendLine($"    using static global::{type};");
        text.AppendLine("    internal static class Tests");
        text.AppendLine("    {");
        for (int i = 0; i < tests.Count; i++)
        {
            var statement = tests[i].Trim();
            if (!statement.EndsWith(';') && !statement.EndsWith('}'))
                statement += ";";
            text.AppendLine($"        public static void {TestMethod(i)}()");
            text.AppendLine("        {");
            text.AppendLine(statement);
            text.AppendLine("        }");
        }
        text.AppendLine("    }");
        text.AppendLine("}");
        return text.ToString();
    }

    // A declaration's name prefixed with the names of the namespace declarations around it.
    static string QualifiedName(SyntaxNode declaration, string name)
    {
        var parts = new List<string> { name };
        for (var node = declaration.Parent; node is not null; node = node.Parent)
            if (node is BaseNamespaceDeclarationSyntax ns)
                parts.Insert(0, ns.Name.ToString());
        return string.Join('.', parts);
    }

    static string Hash(params string[] parts)
    {
        var bytes = SHA256.HashData(Encoding.UTF8.GetBytes(string.Join('\0', parts.Select(p => $"{p.Length}:{p}"))));
        return Convert.ToHexString(bytes);
    }
}
