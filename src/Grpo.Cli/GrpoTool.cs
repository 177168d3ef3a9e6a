using System.CommandLine;
using System.CommandLine.Invocation;
using System.CommandLine.Parsing;
using System.Text.RegularExpressions;

namespace Grpo.Cli;

/// <summary>
/// The <c>grpo</c> tool: its commands, and what happens to a command line that does not parse. Program.cs runs it
/// with the process's signals; tests run it in-process with their own writers and cancellation.
/// </summary>
static partial class GrpoTool
{
    /// <summary>Parses <paramref name="args"/> and runs the command; returns the exit code.</summary>
    public static async Task<int> RunAsync(IReadOnlyList<string> args, InvocationConfiguration configuration, CancellationToken cancellationToken)
    {
        // Each command lives in its own file and builds its own System.CommandLine command.
        var root = new RootCommand("grpo: GRPO fine-tuning with verifiable rewards, on JSONL files.");
        foreach (var command in Commands.All())
            root.Subcommands.Add(command);
        var parse = root.Parse(args);
        if (parse.Action is ParseErrorAction && parse.Errors.Count > 0)
        {
            // One line, like every other refusal: System.CommandLine would list every error and then the whole help text.
            bool atRoot = parse.CommandResult.Command == root;
            var name = atRoot ? "grpo" : $"grpo {parse.CommandResult.Command.Name}";
            var errors = string.Join(" ", parse.Errors.Select(Describe).Distinct());
            await configuration.Error.WriteLineAsync($"{name}: {errors} ('{name} --help' lists the {(atRoot ? "commands" : "options")}.)");
            return 1;
        }
        return await parse.InvokeAsync(configuration, cancellationToken);
    }

    /// <summary>The error in words: "--steps: '1e12' is not a whole number ..." rather than a .NET type name.</summary>
    static string Describe(ParseError error)
    {
        var option = error.SymbolResult as OptionResult ?? (error.SymbolResult as ArgumentResult)?.Parent as OptionResult;
        if (option is not null && CannotParse().Match(error.Message) is { Success: true } match)
            return $"{option.Option.Name}: '{match.Groups[1].Value}' is not {Kind(option.Option.ValueType)}.";
        return error.Message;
    }

    static string Kind(Type type)
    {
        type = type.IsArray ? type.GetElementType()! : Nullable.GetUnderlyingType(type) ?? type;
        if (type == typeof(int)) return $"a whole number (at most {int.MaxValue:N0})";
        if (type == typeof(long)) return "a whole number";
        if (type == typeof(double)) return "a number";
        if (type == typeof(bool)) return "true or false";
        if (type.IsEnum) return $"one of {string.Join(", ", Enum.GetNames(type))}";
        return $"a valid {type.Name}";
    }

    [GeneratedRegex("^Cannot parse argument '(.*)' for option")]
    private static partial Regex CannotParse();
}
