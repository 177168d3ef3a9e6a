using System.Text.Json;
using Grpo.Tokenization;
using Microsoft.Extensions.AI;
using ChatMessage = Grpo.Tokenization.ChatMessage;

namespace Grpo.Tests.Tokenization;

/// <summary>
/// Tools, tool calls, tool results and reasoning in the ChatML (Qwen2.5, Qwen3) and Llama 3.1 formats, against the
/// real chat templates as @huggingface/jinja renders them (Fixtures/chat-templates, cross-checked with Python's jinja2
/// set up as transformers sets it up). Each formatter is the one <see cref="ChatFormats"/> picks for the template.
/// </summary>
public sealed class ChatTemplateReferenceTests : IDisposable
{
    static readonly string FixtureDirectory = Path.Combine(AppContext.BaseDirectory, "Fixtures", "chat-templates");
    static readonly Dictionary<string, JsonElement> Cases = ReadByName("cases.json");
    static readonly Dictionary<string, JsonElement> Rendered = ReadByName("rendered.json");

    readonly string _directory = Directory.CreateTempSubdirectory("grpo-templates-").FullName;

    public void Dispose() => Directory.Delete(_directory, recursive: true);

    static Dictionary<string, JsonElement> ReadByName(string file) =>
        JsonDocument.Parse(File.ReadAllText(Path.Combine(FixtureDirectory, file))).RootElement.EnumerateArray()
            .ToDictionary(c => c.GetProperty("name").GetString()!);

    public static TheoryData<string> CaseNames() => new(Cases.Keys);

    [Theory]
    [MemberData(nameof(CaseNames))]
    public void FormatsAsTheTemplateRendersIt(string name)
    {
        var testCase = Cases[name];
        var formatter = FormatterFor(testCase);
        var messages = testCase.GetProperty("messages").EnumerateArray().Select(Message).ToList();
        var tools = testCase.TryGetProperty("tools", out var toolList)
            ? toolList.EnumerateArray().Select(Tool).ToList()
            : [];
        var addGenerationPrompt = testCase.GetProperty("add_generation_prompt").GetBoolean();

        if (Rendered[name].TryGetProperty("error", out var error))
        {
            // The template's raise_exception: the formatter refuses the same conversation.
            Assert.Equal("This model only supports single tool-calls at once!", error.GetString());
            Assert.Contains("one tool call per assistant turn",
                Assert.Throws<ArgumentException>(() => formatter.Format(messages, tools, addGenerationPrompt)).Message);
            return;
        }
        var expected = Rendered[name].GetProperty("text").GetString();
        Assert.Equal(expected, formatter.Format(messages, tools, addGenerationPrompt));
        if (tools.Count == 0)
            Assert.Equal(expected, formatter.Format(messages, addGenerationPrompt));
    }

    IToolChatFormatter FormatterFor(JsonElement testCase)
    {
        var template = testCase.GetProperty("template").GetString();
        var configPath = template == "qwen3"
            ? Path.Combine(Qwen3Fixture.FixtureDirectory, TokenizerConfig.FileName)
            : WriteConfig(File.ReadAllText(Path.Combine(FixtureDirectory, template == "qwen2.5" ? "qwen2.5-instruct.jinja" : "llama3.1-instruct.jinja")));
        var formatter = Assert.IsAssignableFrom<IToolChatFormatter>(ChatFormats.FromTokenizerConfig(TokenizerConfig.FromFile(configPath)));
        if (formatter is not Llama3Formatter llama)
            return formatter;
        var preamble = testCase.TryGetProperty("date_string", out var date)
            ? $"Cutting Knowledge Date: December 2023\nToday Date: {date.GetString()}\n\n"
            : llama.SystemPreamble;
        return new Llama3Formatter(preamble)
        {
            ToolsInUserMessage = !testCase.TryGetProperty("tools_in_user_message", out var inUser) || inUser.GetBoolean(),
        };
    }

    string WriteConfig(string template)
    {
        var config = new TokenizerConfig(Path.Combine(_directory, TokenizerConfig.FileName), template, null, null, null);
        config.Save();
        return config.Path;
    }

    // An OpenAI-style message as transformers receives it; tool-call arguments keep their parsed JSON values.
    static ChatMessage Message(JsonElement message) => new(message.GetProperty("role").GetString()!, message.GetProperty("content").GetString()!)
    {
        ToolCalls = message.TryGetProperty("tool_calls", out var calls)
            ? calls.EnumerateArray().Select((call, i) =>
            {
                var function = call.GetProperty("function");
                var arguments = function.GetProperty("arguments").EnumerateObject().ToDictionary(a => a.Name, a => (object?)a.Value);
                return new FunctionCallContent($"call_{i}", function.GetProperty("name").GetString()!, arguments);
            }).ToList()
            : null,
    };

    static AIFunctionDeclaration Tool(JsonElement tool)
    {
        var function = tool.GetProperty("function");
        return AIFunctionFactory.CreateDeclaration(
            function.GetProperty("name").GetString()!, function.GetProperty("description").GetString(), function.GetProperty("parameters"));
    }
}
