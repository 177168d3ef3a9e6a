using System.Text.Json;

namespace Grpo.Data;

/// <summary>Reads problems from JSON Lines files: one JSON object per line, as GSM8K, MATH and MBXP ship.</summary>
public static class JsonlDataset
{
    /// <summary>The prompt fields tried, in order, when none is named: GSM8K's, then the common ones.</summary>
    public static readonly IReadOnlyList<string> DefaultPromptFields = ["question", "prompt", "problem"];

    /// <summary>Loads every row of a JSONL file as a <see cref="Problem"/>.</summary>
    /// <param name="path">The file. Blank lines are skipped.</param>
    /// <param name="promptField">The field holding the prompt; null tries <see cref="DefaultPromptFields"/>.</param>
    /// <exception cref="FileNotFoundException">The file does not exist.</exception>
    /// <exception cref="InvalidDataException">A line is not a JSON object, lacks the prompt field, or the file has no rows; the message names the file and line.</exception>
    public static IReadOnlyList<Problem> Load(string path, string? promptField = null)
    {
        if (!File.Exists(path))
            throw new FileNotFoundException($"Dataset file '{path}' does not exist. Pass a JSONL file with one JSON object per line.", path);

        var problems = new List<Problem>();
        int lineNumber = 0;
        foreach (var line in File.ReadLines(path))
        {
            lineNumber++;
            if (string.IsNullOrWhiteSpace(line)) continue;
            problems.Add(Parse(line, promptField, $"{path}:{lineNumber}"));
        }
        if (problems.Count == 0)
            throw new InvalidDataException($"Dataset file '{path}' has no rows. Give it one JSON object per line.");
        return problems;
    }

    /// <summary>Parses one JSONL row; <paramref name="where"/> names it in errors (file:line).</summary>
    public static Problem Parse(string json, string? promptField, string where)
    {
        JsonElement row;
        try
        {
            using var document = JsonDocument.Parse(json);
            row = document.RootElement.Clone();
        }
        catch (JsonException e)
        {
            throw new InvalidDataException($"{where}: not valid JSON ({e.Message}).", e);
        }
        if (row.ValueKind != JsonValueKind.Object)
            throw new InvalidDataException($"{where}: expected a JSON object, found {row.ValueKind}.");

        var fields = new Dictionary<string, JsonElement>();
        foreach (var property in row.EnumerateObject())
            fields[property.Name] = property.Value;

        var candidates = promptField is null ? DefaultPromptFields : [promptField];
        foreach (var name in candidates)
        {
            if (fields.TryGetValue(name, out var value) && value.ValueKind == JsonValueKind.String)
                return new Problem(value.GetString()!, fields);
        }
        throw new InvalidDataException(
            $"{where}: no text field {string.Join(" or ", candidates.Select(c => $"'{c}'"))} to use as the prompt " +
            $"(fields: {string.Join(", ", fields.Keys)}). Name the prompt field explicitly.");
    }
}
