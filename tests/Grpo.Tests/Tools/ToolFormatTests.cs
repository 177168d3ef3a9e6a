using System.ComponentModel;
using Grpo.Tokenization;
using Grpo.Tools;
using Microsoft.Extensions.AI;
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
}
