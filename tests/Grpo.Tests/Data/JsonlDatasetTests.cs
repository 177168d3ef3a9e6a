using Grpo.Data;

namespace Grpo.Tests.Data;

public class JsonlDatasetTests
{
    static string Write(string content)
    {
        var path = Path.Combine(Directory.CreateTempSubdirectory("grpo-data-").FullName, "rows.jsonl");
        File.WriteAllText(path, content);
        return path;
    }

    [Fact]
    public void ReadsGsm8kRowsWithTheirFields()
    {
        // Two real GSM8K rows' shape: question + answer ending in "#### n".
        var path = Write("""
            {"question": "Natalia sold 48 clips in April and half as many in May. How many in total?", "answer": "48/2 = 24\n48+24 = 72\n#### 72"}

            {"question": "What is 2+2?", "answer": "#### 4", "id": 7}
            """);
        var problems = JsonlDataset.Load(path);

        Assert.Equal(2, problems.Count);
        Assert.StartsWith("Natalia sold 48", problems[0].Prompt);
        Assert.EndsWith("#### 72", problems[0].Fields["answer"].GetString());
        Assert.Equal(7, problems[1].Fields["id"].GetInt32());
    }

    [Fact]
    public void ANamedPromptFieldIsUsed()
    {
        var problems = JsonlDataset.Load(Write("""{"text": "Say hi", "question": "ignored"}"""), promptField: "text");
        Assert.Equal("Say hi", problems.Single().Prompt);
    }

    [Fact]
    public void BadInputNamesTheFileAndLine()
    {
        var missing = Assert.Throws<FileNotFoundException>(() => JsonlDataset.Load("/nonexistent/rows.jsonl"));
        Assert.Contains("/nonexistent/rows.jsonl", missing.Message);

        var path = Write("{\"question\": \"ok\"}\n{\"question\": \"broken\"\n");
        Assert.Contains($"{path}:2: not valid JSON", Assert.Throws<InvalidDataException>(() => JsonlDataset.Load(path)).Message);

        path = Write("{\"question\": \"ok\"}\n[1, 2]\n");
        Assert.Contains(":2: expected a JSON object", Assert.Throws<InvalidDataException>(() => JsonlDataset.Load(path)).Message);

        path = Write("{\"q\": \"no prompt\", \"answer\": \"1\"}\n");
        var noPrompt = Assert.Throws<InvalidDataException>(() => JsonlDataset.Load(path)).Message;
        Assert.Contains(":1: no text field 'question' or 'prompt' or 'problem'", noPrompt);
        Assert.Contains("fields: q, answer", noPrompt);

        Assert.Contains("has no rows", Assert.Throws<InvalidDataException>(() => JsonlDataset.Load(Write("\n\n"))).Message);
    }
}
