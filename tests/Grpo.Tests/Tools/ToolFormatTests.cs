using System.ComponentModel;
using System.Text.Json;
using Grpo.Tokenization;
using Grpo.Tools;
using Microsoft.Extensions.AI;
using AIChatMessage = Microsoft.Extensions.AI.ChatMessage;
using ChatMessage = Grpo.Tokenization.ChatMessage;

namespace Grpo.Tests.Tools;

/// <summary>Tools made by Microsoft.Extensions.AI in the prompt formats, what the formats refuse, and calls read back.</summary>
public sealed class ToolFormatTests
{
    static readonly AIFunction Add = AIFunctionFactory.Create(
        ([Description("The first addend.")] int a, double b, string? note = null) => a + b, "add", "Add two numbers.");

    // Python's json.dumps of {"type": "function", "function": {...}} around the schema AIFunctionFactory made for Add.
    const string AddTool =
        "{\"type\": \"function\", \"function\": {\"name\": \"add\", \"description\": \"Add two numbers.\", \"parameters\": {\"type\": \"object\", "
        + "\"properties\": {\"a\": {\"description\": \"The first addend.\", \"type\": \"integer\"}, \"b\": {\"type\": \"number\"}, "
        + "\"note\": {\"type\": [\"string\", \"null\"], \"default\": null}}, \"required\": [\"a\", \"b\"]}}}";

    [Fact]
    public void FactoryMadeFunctionsAreDescribedByTheirSchema()
    {
        var qwen = new ChatMlFormatter().Format([new ChatMessage("user", "1+2?")], [Add], addGenerationPrompt: true);
        Assert.Contains("<tools>\n" + AddTool + "\n</tools>", qwen);

        var llama = new Llama3Formatter("Cutting Knowledge Date: December 2023\nToday Date: 26 Jul 2024\n\n")
            .Format([new ChatMessage("user", "1+2?")], [Add], addGenerationPrompt: true);
        Assert.Contains(
            "\n\n{\n    \"type\": \"function\",\n    \"function\": {\n        \"name\": \"add\",\n        \"description\": \"Add two numbers.\",\n"
            + "        \"parameters\": {\n            \"type\": \"object\",\n            \"properties\": {\n                \"a\": {\n"
            + "                    \"description\": \"The first addend.\",\n                    \"type\": \"integer\"\n                },\n"
            + "                \"b\": {\n                    \"type\": \"number\"\n                },\n                \"note\": {\n"
            + "                    \"type\": [\n                        \"string\",\n                        \"null\"\n                    ],\n"
            + "                    \"default\": null\n                }\n            },\n            \"required\": [\n                \"a\",\n"
            + "                \"b\"\n            ]\n        }\n    }\n}\n\n1+2?<|eot_id|>",
            llama);
    }

    [Fact]
    public void Llama3RefusesWhatItsTemplateCannotWrite()
    {
        Assert.Contains("Llama 3.1+", Assert.Throws<ArgumentException>(
            () => new Llama3Formatter().Format([new ChatMessage("user", "1+2?")], [Add], addGenerationPrompt: true)).Message);
        var llama31 = new Llama3Formatter("Cutting Knowledge Date: December 2023\nToday Date: 26 Jul 2024\n\n");
        Assert.Contains("ToolsInUserMessage = false", Assert.Throws<ArgumentException>(
            () => llama31.Format([new ChatMessage("system", "Be brief.")], [Add], addGenerationPrompt: true)).Message);
        Assert.StartsWith("<|begin_of_text|><|start_header_id|>system<|end_header_id|>\n\nEnvironment: ipython\n",
            new Llama3Formatter(llama31.SystemPreamble) { ToolsInUserMessage = false }.Format([], [Add], addGenerationPrompt: true));
    }

    [Theory]
    [InlineData("qwen")]
    [InlineData("llama")]
    public void CallsTheFormatterWritesAreReadBackByItsParser(string family)
    {
        IToolChatFormatter formatter = family == "qwen" ? new ChatMlFormatter() : new Llama3Formatter("Today\n\n");
        var arguments = new Dictionary<string, object?> { ["a"] = 2, ["b"] = 0.5, ["note"] = "ünï \"cödé\" {}" };
        var turn = new ChatMessage("assistant", "") { ToolCalls = [new FunctionCallContent("id", "add", arguments)] };
        var prompt = formatter.Format([new ChatMessage("user", "Add."), turn], [Add], addGenerationPrompt: false);

        // What the model wrote: the last assistant turn's text, without its end-of-turn token.
        var header = family == "qwen" ? "<|im_start|>assistant\n" : "<|start_header_id|>assistant<|end_header_id|>\n\n";
        var end = family == "qwen" ? "<|im_end|>\n" : "<|eot_id|>";
        var completion = prompt[(prompt.LastIndexOf(header, StringComparison.Ordinal) + header.Length)..^end.Length];

        var call = Assert.Single(formatter.ToolCallParser.Parse(completion).Calls);
        Assert.Null(call.Exception);
        Assert.Equal("add", call.Name);
        Assert.Equal(PythonJson.Dumps(arguments), PythonJson.Dumps(call.Arguments));
    }

    [Fact]
    public void AIMessagesBecomeTheTurnsTheTemplatesRender()
    {
        // The conversation of the "qwen2.5-several-calls" fixture, as Microsoft.Extensions.AI holds it, with the
        // tools' results as .NET values: the prompt must be the one the real template rendered.
        var messages = new[]
        {
            new AIChatMessage(ChatRole.User, "Weather in Paris and Oslo, and 2.5+4?"),
            new AIChatMessage(ChatRole.Assistant,
            [
                new TextContent("Let me check."),
                new FunctionCallContent("1", "get_weather", new Dictionary<string, object?> { ["city"] = "Paris" }),
                new FunctionCallContent("2", "get_weather", new Dictionary<string, object?> { ["city"] = "Oslo" }),
                new FunctionCallContent("3", "add", new Dictionary<string, object?> { ["a"] = 2.5, ["b"] = 4 }),
            ]),
            new AIChatMessage(ChatRole.Tool,
            [
                new FunctionResultContent("1", new Dictionary<string, object?> { ["temperature"] = 21.5 }),
                new FunctionResultContent("2", JsonDocument.Parse("""{"temperature":-3}""").RootElement),
            ]),
            new AIChatMessage(ChatRole.Tool, [new FunctionResultContent("3", 6.5)]),
        };
        var fixtures = Path.Combine(AppContext.BaseDirectory, "Fixtures", "chat-templates");
        var tools = JsonDocument.Parse(File.ReadAllText(Path.Combine(fixtures, "cases.json"))).RootElement.EnumerateArray()
            .Single(c => c.GetProperty("name").GetString() == "qwen2.5-several-calls").GetProperty("tools").EnumerateArray()
            .Select(t => t.GetProperty("function"))
            .Select(f => AIFunctionFactory.CreateDeclaration(f.GetProperty("name").GetString()!, f.GetProperty("description").GetString(), f.GetProperty("parameters")))
            .ToList();
        var expected = JsonDocument.Parse(File.ReadAllText(Path.Combine(fixtures, "rendered.json"))).RootElement.EnumerateArray()
            .Single(c => c.GetProperty("name").GetString() == "qwen2.5-several-calls").GetProperty("text").GetString();

        var turns = ChatMessage.FromAI(messages);
        Assert.Equal(["user", "assistant", "tool", "tool", "tool"], turns.Select(t => t.Role));
        Assert.Equal(expected, new ChatMlFormatter("You are Qwen, created by Alibaba Cloud. You are a helpful assistant.").Format(turns, tools, addGenerationPrompt: true));
    }
}
