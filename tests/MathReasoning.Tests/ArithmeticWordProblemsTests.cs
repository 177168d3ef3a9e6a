using System.Text.RegularExpressions;
using Grpo.Samples.MathReasoning;

namespace MathReasoning.Tests;

public class ArithmeticWordProblemsTests
{
    /// <summary>
    /// The answer each question asks for, worked out from the story's own words and numbers, independently of the
    /// generator: "finds b more, then loses c" adds then subtracts, "gives b away, then finds c more" subtracts then
    /// adds, "has c ... and buys a bags with b in each" adds a product, "buys a bags with b in each and gives c away"
    /// subtracts from a product, "shares n among b friends, who each had c" divides then adds.
    /// </summary>
    static long Expected(string question)
    {
        long[] n = Regex.Matches(question, @"\d+").Select(m => long.Parse(m.Value)).ToArray();
        if (question.Contains("then loses")) return n[0] + n[1] - n[2];
        if (question.Contains("then finds")) return n[0] - n[1] + n[2];
        if (question.Contains("and buys")) return n[0] + n[1] * n[2];
        if (question.Contains("bags with")) return n[0] * n[1] - n[2];
        if (question.Contains("shares")) return n[0] / n[1] + n[2];
        throw new InvalidOperationException($"Unknown kind of question: {question}");
    }

    [Fact]
    public void Every_answer_is_the_result_the_question_asks_for_and_its_worked_steps_are_right()
    {
        var problems = ArithmeticWordProblems.Generate(2000, seed: 7, ProblemSplit.Train);
        foreach (var p in problems)
        {
            var expected = Expected(p.Question);
            Assert.Equal(expected, p.Result);
            var lines = p.Answer.Split('\n');
            Assert.Equal($"#### {expected}", lines[^1]);
            foreach (var line in lines[..^1])
            {
                var m = Regex.Match(line, @"^(\d+)([-+*/])(\d+)=(-?\d+)$");
                Assert.True(m.Success, $"Worked step '{line}' is not 'a op b = c'.");
                long a = long.Parse(m.Groups[1].Value), b = long.Parse(m.Groups[3].Value), c = long.Parse(m.Groups[4].Value);
                Assert.Equal(m.Groups[2].Value switch { "+" => a + b, "-" => a - b, "*" => a * b, _ => a / b }, c);
                if (m.Groups[2].Value == "/") Assert.Equal(0, a % b);
            }
            Assert.EndsWith($"={expected}", lines[^2]);
            Assert.True(expected >= 0, $"'{p.Question}' has a negative answer.");
        }
        // All five kinds of question occur, each worked in two steps.
        Assert.Equal(5, problems.Select(p => p.Question.Contains("then loses") ? 0 : p.Question.Contains("then finds") ? 1
            : p.Question.Contains("and buys") ? 2 : p.Question.Contains("bags") ? 3 : 4).Distinct().Count());
        Assert.All(problems, p => Assert.Equal(3, p.Answer.Split('\n').Length));
        Assert.All(problems, p => Assert.Equal($"#### {p.Result}", p.BareAnswer));
    }

    [Fact]
    public void The_same_seed_gives_the_same_problems_and_another_seed_others()
    {
        var first = ArithmeticWordProblems.Generate(200, seed: 3, ProblemSplit.Train);
        Assert.Equal(first, ArithmeticWordProblems.Generate(200, seed: 3, ProblemSplit.Train));
        Assert.NotEqual(first.Select(p => p.Question), ArithmeticWordProblems.Generate(200, seed: 4, ProblemSplit.Train).Select(p => p.Question));
        Assert.Equal(200, first.Select(p => p.Question).Distinct().Count());
    }

    [Fact]
    public void Held_out_questions_never_occur_in_training_whatever_the_seeds()
    {
        var heldOut = ArithmeticWordProblems.Generate(500, seed: 1000, ProblemSplit.HeldOut).Select(p => p.Question).ToHashSet();
        foreach (var seed in new[] { 1, 2, 1000 })
            Assert.DoesNotContain(ArithmeticWordProblems.Stream(seed, ProblemSplit.Train).Take(20_000), p => heldOut.Contains(p.Question));
        Assert.All(heldOut, q => Assert.Equal(ProblemSplit.HeldOut, ArithmeticWordProblems.SplitOf(q)));
    }
}
