using System.Text.Json;
using System.Text.RegularExpressions;
using Grpo.Data;

namespace Grpo.Samples.MathReasoning;

/// <summary>
/// The problems a run trains and measures on, as dataset rows in GSM8K's layout (<c>question</c>, and an
/// <c>answer</c> whose last line is "#### n", which the maths reward reads as the gold answer): generated arithmetic
/// problems for the built-in model, or the rows of a JSONL file.
/// </summary>
public static partial class MathProblems
{
    /// <summary>The field the prompt is read from.</summary>
    public const string QuestionField = "question";

    /// <summary>The field holding the worked answer that ends in "#### n".</summary>
    public const string AnswerField = "answer";

    /// <summary>Seed of the held-out generated problems; training problems come from the run's own seed and the other side of the split.</summary>
    public const int HeldOutSeed = 1000;

    /// <summary><paramref name="count"/> distinct generated problems of one split as dataset rows.</summary>
    public static IReadOnlyList<Problem> Generated(int count, int seed, ProblemSplit split) =>
        ArithmeticWordProblems.Generate(count, seed, split).Select(p => Row(p.Question, p.Answer)).ToList();

    /// <summary>The generated held-out problems every measurement of the sample uses.</summary>
    public static IReadOnlyList<Problem> HeldOut(int count) => Generated(count, HeldOutSeed, ProblemSplit.HeldOut);

    /// <summary>A dataset row with the two GSM8K fields.</summary>
    public static Problem Row(string question, string answer) => new(question, new Dictionary<string, JsonElement>
    {
        [QuestionField] = JsonSerializer.SerializeToElement(question),
        [AnswerField] = JsonSerializer.SerializeToElement(answer),
    });

    /// <summary>
    /// Reads GSM8K-format rows from a JSONL file. Every row must have a <c>question</c> and an <c>answer</c> ending in
    /// "#### n"; the first that does not is reported by file and line, before any training starts.
    /// </summary>
    /// <exception cref="FileNotFoundException">The file does not exist.</exception>
    /// <exception cref="InvalidDataException">A line is not a JSON object with those fields, or the file has no rows.</exception>
    public static IReadOnlyList<Problem> FromJsonl(string path)
    {
        if (!File.Exists(path))
            throw new FileNotFoundException($"Dataset file '{path}' does not exist. Pass a JSONL file of GSM8K rows ({{\"question\": ..., \"answer\": \"... #### 42\"}}).", path);
        var problems = new List<Problem>();
        int lineNumber = 0;
        foreach (var line in File.ReadLines(path))
        {
            lineNumber++;
            if (string.IsNullOrWhiteSpace(line)) continue;
            var where = $"{path}:{lineNumber}";
            var problem = JsonlDataset.Parse(line, QuestionField, where);
            var answer = problem.Fields.TryGetValue(AnswerField, out var value) && value.ValueKind == JsonValueKind.String ? value.GetString()! : null;
            if (answer is null || !FinalAnswerLine().IsMatch(answer))
                throw new InvalidDataException(
                    $"{where}: the row has no \"{AnswerField}\" text ending in \"#### n\" (the gold answer the maths reward checks against). Give every row a GSM8K-style answer.");
            problems.Add(problem);
        }
        if (problems.Count == 0)
            throw new InvalidDataException($"Dataset file '{path}' has no rows. Give it one JSON object per line.");
        return problems;
    }

    [GeneratedRegex(@"####\s*-?[\d,]+(\.\d+)?\s*$")]
    private static partial Regex FinalAnswerLine();
}
