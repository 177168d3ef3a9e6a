using System.CommandLine;

namespace Grpo.Cli;

/// <summary>
/// How train, eval and generate turn a dataset row into the model's prompt: which field holds the question, and
/// whether it goes into the model's chat template (on by default when the folder has one) after a system message.
/// </summary>
sealed class PromptOptions
{
    readonly Option<bool> _chat = new("--chat") { Description = "Put each prompt in the model's chat template (tokenizer_config.json's chat_template). [default: on when the model has a template]" };
    readonly Option<bool> _noChat = new("--no-chat") { Description = "Feed the prompt text to the model as it is, without the chat template." };
    readonly Option<string?> _systemPrompt = new("--system-prompt") { Description = "A system message put before each prompt in the chat template. [default: none]" };
    readonly Option<string?> _promptField = new("--prompt-field")
    {
        Description = $"The JSONL field holding the prompt. [default: the first of {string.Join(", ", Data.JsonlDataset.DefaultPromptFields)}]",
    };

    public void AddTo(Command command)
    {
        command.Options.Add(_chat);
        command.Options.Add(_noChat);
        command.Options.Add(_systemPrompt);
        command.Options.Add(_promptField);
        command.Validators.Add(result =>
        {
            if (result.GetValue(_chat) && result.GetValue(_noChat))
                result.AddError("Give either --chat or --no-chat, not both.");
        });
    }

    public string? PromptField(ParseResult parse) => parse.GetValue(_promptField);

    public string? SystemPrompt(ParseResult parse) => parse.GetValue(_systemPrompt);

    /// <summary>Whether prompts go through the chat template; --chat on a folder without one fails when a prompt is formatted.</summary>
    public bool UseChat(ParseResult parse, ModelFolder folder) =>
        parse.GetValue(_chat) || (!parse.GetValue(_noChat) && folder.ChatFormat is not null);
}
