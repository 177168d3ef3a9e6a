namespace Grpo.Samples.MathReasoning;

/// <summary>One generated problem in GSM8K's layout: a question and a worked answer ending in "#### n".</summary>
/// <param name="Question">The word problem.</param>
/// <param name="Answer">Its worked answer: one line per step, then "#### n".</param>
/// <param name="Result">The number it asks for.</param>
/// <param name="Expression">Its arithmetic as one expression, "(3*4)+5": what a calculator is asked.</param>
public sealed record WordProblem(string Question, string Answer, long Result, string Expression)
{
    /// <summary>The answer without its working: just "#### n".</summary>
    public string BareAnswer => $"#### {Result}";
}

/// <summary>Which side of the fixed train / held-out split a problem comes from.</summary>
public enum ProblemSplit
{
    /// <summary>Problems for pre-training and GRPO training.</summary>
    Train,

    /// <summary>Problems kept for measuring accuracy; no training ever sees one.</summary>
    HeldOut,
}

/// <summary>
/// Generates arithmetic word problems with worked solutions, the sample's built-in task. Like GSM8K but small
/// enough for a model of a few million parameters on a CPU: two steps of +, -, × or ÷ on small numbers, each step
/// written out ("3*4=12", "12+5=17") before the final "#### 17". Two steps, because a small model that answers at once
/// must do both in its head and is mostly wrong, while one that writes the steps out is mostly right.
/// </summary>
/// <remarks>
/// Every question belongs to one split for good: one question in <see cref="HeldOutShare"/> is held out, chosen by a
/// hash of its text. So held-out problems are never seen in pre-training or GRPO training, whatever seeds those use.
/// </remarks>
public static class ArithmeticWordProblems
{
    /// <summary>One question in this many is held out.</summary>
    public const int HeldOutShare = 8;

    static readonly string[] Names = ["Ann", "Ben", "Cara", "Dev", "Eli", "Fay", "Gus", "Hana", "Ivo", "Jun", "Kim", "Leo", "Mia", "Noor", "Omar", "Pia"];
    static readonly string[] Items = ["apples", "books", "coins", "cards", "pens", "shells", "stamps", "marbles", "eggs", "stickers"];

    /// <summary>Generates <paramref name="count"/> distinct problems of one split, deterministically for a seed.</summary>
    /// <param name="count">How many problems.</param>
    /// <param name="seed">Same seed, same problems.</param>
    /// <param name="split">The side of the train / held-out split to draw from.</param>
    public static IReadOnlyList<WordProblem> Generate(int count, int seed, ProblemSplit split)
    {
        ArgumentOutOfRangeException.ThrowIfNegative(count);
        return Stream(seed, split).DistinctBy(p => p.Question).Take(count).ToList();
    }

    /// <summary>
    /// An endless stream of problems of one split, repeats included, deterministic for a seed: pre-training draws from
    /// it so that the mix of problem kinds stays the same however many it takes.
    /// </summary>
    public static IEnumerable<WordProblem> Stream(int seed, ProblemSplit split)
    {
        var random = new Random(seed);
        while (true)
        {
            var problem = Next(random);
            if (SplitOf(problem.Question) == split) yield return problem;
        }
    }

    /// <summary>The split a question belongs to: a stable hash (FNV-1a of its UTF-16 code units), not string.GetHashCode, which changes per process.</summary>
    public static ProblemSplit SplitOf(string question)
    {
        uint hash = 2166136261;
        foreach (var c in question)
            hash = (hash ^ c) * 16777619;
        return hash % HeldOutShare == 0 ? ProblemSplit.HeldOut : ProblemSplit.Train;
    }

    static WordProblem Next(Random r)
    {
        string name = Names[r.Next(Names.Length)], item = Items[r.Next(Items.Length)];
        switch (r.Next(5))
        {
            case 0:
            {
                int a = r.Next(2, 21), b = r.Next(2, 16), c = r.Next(1, a + b);
                var first = Step(a, '+', b);
                return Make($"{name} has {a} {item}, finds {b} more, then loses {c}. How many {item} does {name} have now?", [first, Step(first.Result, '-', c)]);
            }
            case 1:
            {
                int a = r.Next(5, 31), b = r.Next(1, a), c = r.Next(2, 16);
                var first = Step(a, '-', b);
                return Make($"{name} has {a} {item}, gives {b} away, then finds {c} more. How many {item} does {name} have now?", [first, Step(first.Result, '+', c)]);
            }
            case 2:
            {
                int a = r.Next(2, 10), b = r.Next(2, 10), c = r.Next(1, 20);
                var first = Step(a, '*', b);
                return Make($"{name} has {c} {item} and buys {a} bags with {b} {item} in each. How many {item} does {name} have now?", [first, Step(first.Result, '+', c)]);
            }
            case 3:
            {
                int a = r.Next(2, 10), b = r.Next(2, 10), c = r.Next(1, a * b);
                var first = Step(a, '*', b);
                return Make($"{name} buys {a} bags with {b} {item} in each and gives {c} away. How many {item} are left?", [first, Step(first.Result, '-', c)]);
            }
            default:
            {
                int b = r.Next(2, 10), q = r.Next(2, 10), c = r.Next(1, 10);
                var first = Step(b * q, '/', b);
                return Make($"{name} shares {b * q} {item} equally among {b} friends, who each had {c} already. How many {item} does each friend have now?", [first, Step(first.Result, '+', c)]);
            }
        }
    }

    readonly record struct Line(long Left, char Op, long Right, long Result);

    static Line Step(long left, char op, long right) => new(left, op, right, op switch
    {
        '+' => left + right,
        '-' => left - right,
        '*' => left * right,
        _ => left / right,
    });

    static WordProblem Make(string question, Line[] steps)
    {
        var work = string.Join("\n", steps.Select(s => $"{s.Left}{s.Op}{s.Right}={s.Result}"));
        var result = steps[^1].Result;
        var expression = $"({steps[0].Left}{steps[0].Op}{steps[0].Right}){steps[1].Op}{steps[1].Right}";
        return new WordProblem(question, $"{work}\n#### {result}", result, expression);
    }
}
