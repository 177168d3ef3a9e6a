using Grpo.Tokenization;

namespace Grpo.Tests.Tokenization;

/// <summary>Chat formats against prompts written out by hand from the Qwen and Llama 3 templates.</summary>
public sealed class ChatFormatTests : IDisposable
{
    readonly string _directory = Directory.CreateTempSubdirectory("grpo-chat-").FullName;

    public void Dispose() => Directory.Delete(_directory, recursive: true);

    static readonly ChatMessage[] Conversation =
        [new("system", "Be brief."), new("user", "What is 2+2?"), new("assistant", "4"), new("user", "And 3+3?")];

    [Fact]
    public void ChatMlWritesEachTurnBetweenImStartAndImEnd()
    {
        Assert.Equal(
            "<|im_start|>system\nBe brief.<|im_end|>\n<|im_start|>user\nWhat is 2+2?<|im_end|>\n"
            + "<|im_start|>assistant\n4<|im_end|>\n<|im_start|>user\nAnd 3+3?<|im_end|>\n<|im_start|>assistant\n",
            new ChatMlFormatter().Format(Conversation, addGenerationPrompt: true));
        Assert.Equal("<|im_start|>user\nHi<|im_end|>\n", new ChatMlFormatter().Format([new("user", "Hi")], addGenerationPrompt: false));
    }

    [Fact]
    public void ChatMlDefaultSystemPromptOnlyFillsAMissingSystemTurn()
    {
        var formatter = new ChatMlFormatter("You are helpful.");
        Assert.Equal("<|im_start|>system\nYou are helpful.<|im_end|>\n<|im_start|>user\nHi<|im_end|>\n<|im_start|>assistant\n",
            formatter.Format([new("user", "Hi")], addGenerationPrompt: true));
        Assert.Equal("<|im_start|>system\nS<|im_end|>\n<|im_start|>user\nHi<|im_end|>\n",
            formatter.Format([new("system", "S"), new("user", "Hi")], addGenerationPrompt: false));
    }

    [Fact]
    public void Llama3WritesHeadersAndTrimsContent()
    {
        Assert.Equal(
            "<|begin_of_text|><|start_header_id|>system<|end_header_id|>\n\nBe brief.<|eot_id|>"
            + "<|start_header_id|>user<|end_header_id|>\n\nWhat is 2+2?<|eot_id|>"
            + "<|start_header_id|>assistant<|end_header_id|>\n\n4<|eot_id|>"
            + "<|start_header_id|>user<|end_header_id|>\n\nAnd 3+3?<|eot_id|>"
            + "<|start_header_id|>assistant<|end_header_id|>\n\n",
            new Llama3Formatter().Format(Conversation, addGenerationPrompt: true));
        Assert.Equal("<|begin_of_text|><|start_header_id|>user<|end_header_id|>\n\nHi<|eot_id|>",
            new Llama3Formatter().Format([new("user", "  Hi \n")], addGenerationPrompt: false));
    }

    [Fact]
    public void Llama31PreambleOpensAnAlwaysPresentSystemTurn()
    {
        var formatter = new Llama3Formatter("Cutting Knowledge Date: December 2023\nToday Date: 26 Jul 2024\n\n");
        Assert.Equal(
            "<|begin_of_text|><|start_header_id|>system<|end_header_id|>\n\nCutting Knowledge Date: December 2023\nToday Date: 26 Jul 2024\n\n<|eot_id|>"
            + "<|start_header_id|>user<|end_header_id|>\n\nHi<|eot_id|><|start_header_id|>assistant<|end_header_id|>\n\n",
            formatter.Format([new("user", "Hi")], addGenerationPrompt: true));
        Assert.Equal(
            "<|begin_of_text|><|start_header_id|>system<|end_header_id|>\n\nCutting Knowledge Date: December 2023\nToday Date: 26 Jul 2024\n\nBe brief.<|eot_id|>"
            + "<|start_header_id|>user<|end_header_id|>\n\nHi<|eot_id|>",
            formatter.Format([new("system", " Be brief. "), new("user", "Hi")], addGenerationPrompt: false));
    }

    TokenizerConfig ConfigWithTemplate(string? template)
    {
        var config = new TokenizerConfig(Path.Combine(_directory, TokenizerConfig.FileName), template, null, "<|im_end|>", null);
        config.Save();
        return TokenizerConfig.FromDirectory(_directory);
    }

    [Fact]
    public void Qwen3TemplateGivesChatMlWithoutADefaultSystemPrompt()
    {
        var formatter = Assert.IsType<ChatMlFormatter>(ChatFormats.FromTokenizerConfig(
            TokenizerConfig.FromFile(Path.Combine(Qwen3Fixture.FixtureDirectory, TokenizerConfig.FileName))));
        Assert.Null(formatter.DefaultSystemPrompt);
        Assert.True(formatter.Qwen3Reasoning);
    }

    [Fact]
    public void Qwen25TemplateGivesChatMlWithItsDefaultSystemPrompt()
    {
        // The non-tool branch of Qwen2.5's chat template.
        const string template = """
            {%- if messages[0]['role'] == 'system' %}
                {{- '<|im_start|>system\n' + messages[0]['content'] + '<|im_end|>\n' }}
            {%- else %}
                {{- '<|im_start|>system\nYou are Qwen, created by Alibaba Cloud. You are a helpful assistant.<|im_end|>\n' }}
            {%- endif %}
            """;
        var formatter = Assert.IsType<ChatMlFormatter>(ChatFormats.FromTokenizerConfig(ConfigWithTemplate(template)));
        Assert.Equal("You are Qwen, created by Alibaba Cloud. You are a helpful assistant.", formatter.DefaultSystemPrompt);
        Assert.False(formatter.Qwen3Reasoning);
    }

    [Fact]
    public void OwnChatMlTemplateIsRecognised()
    {
        var formatter = Assert.IsType<ChatMlFormatter>(ChatFormats.FromTokenizerConfig(ConfigWithTemplate(ChatMlFormatter.JinjaTemplate)));
        Assert.Null(formatter.DefaultSystemPrompt);
    }

    [Fact]
    public void Llama3TemplatesGiveLlama3WithTheirDateLines()
    {
        const string llama30 = """{% set loop_messages = messages %}{% for message in loop_messages %}{% set content = '<|start_header_id|>' + message['role'] + '<|end_header_id|>\n\n'+ message['content'] | trim + '<|eot_id|>' %}{% if loop.index0 == 0 %}{% set content = bos_token + content %}{% endif %}{{ content }}{% endfor %}{% if add_generation_prompt %}{{ '<|start_header_id|>assistant<|end_header_id|>\n\n' }}{% endif %}""";
        Assert.Null(Assert.IsType<Llama3Formatter>(ChatFormats.FromTokenizerConfig(ConfigWithTemplate(llama30))).SystemPreamble);

        const string llama31 = """
            {%- if not date_string is defined %}
                {%- set date_string = "26 Jul 2024" %}
            {%- endif %}
            {{- "<|start_header_id|>system<|end_header_id|>\n\n" }}
            {{- "Cutting Knowledge Date: December 2023\n" }}
            {{- "Today Date: " + date_string + "\n\n" }}
            """;
        Assert.Equal("Cutting Knowledge Date: December 2023\nToday Date: 26 Jul 2024\n\n",
            Assert.IsType<Llama3Formatter>(ChatFormats.FromTokenizerConfig(ConfigWithTemplate(llama31))).SystemPreamble);
    }

    [Fact]
    public void UnknownOrMissingTemplateNamesTheFile()
    {
        var unknown = Assert.Throws<InvalidDataException>(() => ChatFormats.FromTokenizerConfig(ConfigWithTemplate("[INST] {{ message }} [/INST]")));
        Assert.Contains(Path.Combine(_directory, TokenizerConfig.FileName), unknown.Message);
        Assert.Contains("IChatFormatter", unknown.Message);
        var missing = Assert.Throws<InvalidDataException>(() => ChatFormats.FromTokenizerConfig(ConfigWithTemplate(null)));
        Assert.Contains("no chat_template", missing.Message);
    }

    [Fact]
    public void TemplateListAndTokenObjectsAreRead()
    {
        var path = Path.Combine(_directory, TokenizerConfig.FileName);
        File.WriteAllText(path, """
            {"chat_template": [{"name": "tool_use", "template": "x"}, {"name": "default", "template": "<|im_start|>"}],
             "eos_token": {"content": "<|im_end|>", "special": true}, "bos_token": null}
            """);
        var config = TokenizerConfig.FromFile(path);
        Assert.Equal("<|im_start|>", config.ChatTemplate);
        Assert.Equal("<|im_end|>", config.EosToken);
        Assert.Null(config.BosToken);
    }

    [Fact]
    public void CorruptOrMissingConfigNamesTheFile()
    {
        var path = Path.Combine(_directory, TokenizerConfig.FileName);
        File.WriteAllText(path, "{\"chat_template\": ");
        Assert.Contains(path, Assert.Throws<InvalidDataException>(() => TokenizerConfig.FromFile(path)).Message);
        File.Delete(path);
        Assert.Contains(path, Assert.Throws<FileNotFoundException>(() => TokenizerConfig.FromFile(path)).Message);
    }
}
