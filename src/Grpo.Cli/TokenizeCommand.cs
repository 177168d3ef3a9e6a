using System.Buffers;
using System.CommandLine;
using System.Text.Encodings.Web;
using System.Text.Json;
using Grpo.Tokenization;

namespace Grpo.Cli;

/// <summary>
/// <c>grpo tokenize --tokenizer DIR --input FILE.jsonl</c>: encodes the <c>"text"</c> of each input line with the
/// model folder's tokenizer.json and prints <c>{"text": ..., "ids": [...]}</c> per line, in order, so token counts
/// and ids can be checked against another implementation.
/// </summary>
static class TokenizeCommand
{
    public static Command Create()
    {
        var tokenizerOption = new Option<DirectoryInfo>("--tokenizer")
        {
            Description = "Model folder holding tokenizer.json (a Hugging Face checkpoint folder).",
            Required = true,
        };
        var inputOption = new Option<FileInfo>("--input")
        {
            Description = "JSONL file; each line is an object with a string \"text\" field.",
            Required = true,
        };
        var command = new Command("tokenize", "Encode the \"text\" of each JSONL line and print {\"text\", \"ids\"} per line on stdout.");
        command.Options.Add(tokenizerOption);
        command.Options.Add(inputOption);
        command.SetAction((parse, cancellationToken) => CommandErrors.RunAsync("tokenize", parse.InvocationConfiguration.Error, () => Task.FromResult(Run(
            parse.GetValue(tokenizerOption)!, parse.GetValue(inputOption)!, parse.InvocationConfiguration.Output, cancellationToken))));
        return command;
    }

    static int Run(DirectoryInfo tokenizerDirectory, FileInfo input, TextWriter output, CancellationToken cancellationToken)
    {
        if (!input.Exists)
            throw new FileNotFoundException($"Input file '{input.FullName}' does not exist. Pass a JSONL file with one {{\"text\": ...}} object per line.", input.FullName);
        // Every line is read before anything is printed, so a malformed line stops the command with no output at all.
        var texts = new List<string>();
        var lineNumber = 0;
        foreach (var line in File.ReadLines(input.FullName))
        {
            lineNumber++;
            if (!string.IsNullOrWhiteSpace(line))
                texts.Add(ReadText(line, input.FullName, lineNumber));
        }
        var tokenizer = HfTokenizer.FromDirectory(tokenizerDirectory.FullName);

        var buffer = new ArrayBufferWriter<byte>();
        var options = new JsonWriterOptions { Encoder = JavaScriptEncoder.UnsafeRelaxedJsonEscaping };
        foreach (var text in texts)
        {
            cancellationToken.ThrowIfCancellationRequested();
            buffer.ResetWrittenCount();
            using (var json = new Utf8JsonWriter(buffer, options))
            {
                json.WriteStartObject();
                json.WriteString("text", text);
                json.WriteStartArray("ids");
                foreach (var id in tokenizer.Encode(text))
                    json.WriteNumberValue(id);
                json.WriteEndArray();
                json.WriteEndObject();
            }
            output.WriteLine(System.Text.Encoding.UTF8.GetString(buffer.WrittenSpan));
        }
        return 0;
    }

    static string ReadText(string line, string path, int lineNumber)
    {
        try
        {
            using var row = JsonDocument.Parse(line);
            if (row.RootElement.ValueKind == JsonValueKind.Object
                && row.RootElement.TryGetProperty("text", out var text) && text.ValueKind == JsonValueKind.String)
                return text.GetString()!;
        }
        catch (JsonException)
        {
            // Reported below with the line number, like a line without a text field.
        }
        throw new InvalidDataException($"{path} line {lineNumber}: expected a JSON object with a string \"text\" field.");
    }
}
