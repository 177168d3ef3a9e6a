using BenchmarkDotNet.Attributes;
using Grpo.Rewards.Math;

namespace Grpo.Benchmarks;

/// <summary>
/// Checks per second of the maths verifier on one core (a benchmark runs on one thread): GSM8K-style integer
/// answers (target 20,000/s) and LaTeX expressions (target 2,000/s). Each check extracts the answer from a gold
/// text and from a completion, parses both and compares them. Checks/s = 1e9 / Mean (ns).
///   dotnet run -c Release --project benchmarks/Grpo.Benchmarks -- --filter '*MathVerifier*'
/// </summary>
[MemoryDiagnoser]
public class MathVerifierBenchmarks
{
    const int IntegerChecks = 64;
    (string Gold, string Completion)[] _integers = [];
    (string Gold, string Completion)[] _latex = [];

    [GlobalSetup]
    public void Setup()
    {
        // GSM8K shape: a worked solution ending in "#### n"; completions of a few hundred characters, half right.
        var random = new Random(7);
        _integers = Enumerable.Range(0, IntegerChecks).Select(k =>
        {
            int a = random.Next(2, 500), b = random.Next(2, 50), answer = a * b + k;
            var gold = $"Each box holds {a} pens, so {b} boxes hold {a}*{b} = <<{a}*{b}={a * b}>>{a * b} pens.\n" +
                       $"Adding the {k} loose pens gives {a * b}+{k} = <<{a * b}+{k}={answer}>>{answer}.\n#### {answer:N0}";
            var said = k % 2 == 0 ? answer : answer + 1;
            var completion = $"We need the number of pens. There are {b} boxes with {a} pens each, so {a} x {b} = {a * b}. " +
                             $"Then we add the {k} loose pens: {a * b} + {k} = {said}. Checking: the boxes alone give {a * b}, " +
                             $"which is less than the total, as expected. " + (k % 4 < 2 ? $"The answer is {said}." : $"\\boxed{{{said:N0}}}");
            return (gold, completion);
        }).ToArray();

        _latex =
        [
            ("$\\frac{\\sqrt{2}}{2}$", "Rationalizing, the value is $\\boxed{\\frac{1}{\\sqrt{2}}}$."),
            ("$(x+1)^2$", "Expanding gives $\\boxed{x^2+2x+1}$."),
            ("$x^2-4$", "So the product is $\\boxed{(x-2)(x+2)}$."),
            ("$[-2, 7]$", "The solution set is $x \\in [-2,7]$."),
            ("$3\\sqrt{13}$", "By the distance formula, $\\sqrt{36 + 81} = \\boxed{\\sqrt{117}}$."),
            ("$\\frac{14}{3}$", "$f(-2)+f(-1)+f(0)=\\frac{-8}{-4}+\\frac{-5}{-3}+\\frac{-2}{-2}=2+\\frac{5}{3}+1=\\boxed{\\frac{14}{3}}$"),
            ("$\\begin{pmatrix}1 & 2 \\\\ 3 & 4\\end{pmatrix}$", "The matrix is $\\begin{bmatrix}1 & 2 \\\\ 3 & 4\\end{bmatrix}$."),
            ("$2\\pi$", "The circumference is $\\boxed{\\pi + \\pi}$."),
            ("$\\tan^2(y)+1$", "Using the identity, $\\boxed{\\sec^2(y)}$."),
            ("$(1,\\frac{9}{2})$", "The point is $\\boxed{(1, 4.5)}$."),
            ("$x > 5$", "Therefore $x \\gt 5$ is the solution."),
            ("$\\frac{1}{3}$", "The probability is approximately $\\boxed{0.3333333}$."),
            ("$1 \\pm \\sqrt{19}$", "By the quadratic formula, $x = \\boxed{1 \\pm \\sqrt{19}}$."),
            ("$\\{1, 2, 3\\}$", "The roots are $\\boxed{\\{3, 2, 1\\}}$."),
            ("$y = 2x + 3$", "The line is $\\boxed{2x+3}$."),
            ("$\\dfrac{7}{12}$", "Adding, $\\frac13+\\frac14 = \\boxed{\\frac{7}{12}}$."),
            ("$(-\\infty, -3] \\cup [2, \\infty)$", "Final Answer: The final answer is $(-\\infty, -3] \\cup [2, \\infty)$. I hope it is correct."),
            ("$\\frac{5\\sqrt{42}}{27}$", "Final Answer: The final answer is $\\frac{10\\sqrt{10.5}}{27}$. I hope it is correct."),
            ("$2-2p$", "Thus $x-p=\\boxed{2-2p}$."),
            ("$\\frac{x+2}{7}$", "$\\boxed{\\frac{x}{7}+\\frac{2}{7}}$"),
            ("$90^\\circ$", "Hence the angle between the lines is $\\boxed{90^\\circ}$."),
            ("$2x+4y-3=0$", "The line is $y=-\\frac{1}{2}x+\\frac{3}{4}$."),
            ("$\\frac{\\pi r}{h+r}$", "The answer is $\\boxed{\\frac{\\pi r}{h+r}}$."),
            ("$e^{2}$", "So the limit is $\\boxed{e^2}$."),
            ("$4$", "The sum is $\\boxed{\\frac{34}{16}+\\frac{\\sqrt{1358}}{16}}$."),
            ("$\\sqrt{2}+\\sqrt{5}$", "The answer is $\\boxed{\\sqrt 2+\\sqrt 5}$"),
            ("$-2,1$", "the only integer roots are $\\boxed{-2,1}.$"),
            ("$\\frac{3}{56}$", "so \\[p(8) = \\frac{q(8) + 8}{8^2 - 1} = \\boxed{\\frac{3}{56}}.\\]"),
            ("$28\\%$", "making for a total loss of $\\boxed{28\\%}$."),
            ("$(3, \\frac{\\pi}{2})$", "the polar coordinates are $\\boxed{\\left( 3, \\frac{\\pi}{2} \\right)}.$"),
            ("$\\text{Evelyn}$", "Therefore, $\\boxed{\\text{Evelyn}}$ is our answer."),
            ("$1\\leq|z|\\leq \\frac{3}{2}$", "$z \\in \\left[-\\frac{3}{2}, -1\\right] \\cup \\left[1, \\frac{3}{2}\\right]$"),
        ];
    }

    [Benchmark(OperationsPerInvoke = IntegerChecks)]
    public int Gsm8kIntegers()
    {
        int equivalent = 0;
        foreach (var (gold, completion) in _integers)
            if (MathVerifier.AreEquivalent(gold, completion)) equivalent++;
        return equivalent;
    }

    [Benchmark(OperationsPerInvoke = 32)]
    public int LatexExpressions()
    {
        int equivalent = 0;
        foreach (var (gold, completion) in _latex)
            if (MathVerifier.AreEquivalent(gold, completion)) equivalent++;
        return equivalent;
    }
}
