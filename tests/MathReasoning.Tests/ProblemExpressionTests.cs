using Grpo.Samples.MathReasoning;

namespace MathReasoning.Tests;

public class ProblemExpressionTests
{
    [Fact]
    public void Every_problem_expression_evaluates_to_its_result()
    {
        foreach (var problem in ArithmeticWordProblems.Generate(200, seed: 9, ProblemSplit.Train))
        {
            // "(a op b) op c", evaluated here by hand from its three numbers and two operators.
            var inner = problem.Expression[1..problem.Expression.IndexOf(')')];
            int op1 = inner.IndexOfAny(['+', '-', '*', '/']);
            long a = long.Parse(inner[..op1]), b = long.Parse(inner[(op1 + 1)..]);
            var rest = problem.Expression[(inner.Length + 2)..];
            long c = long.Parse(rest[1..]);
            static long Apply(long x, char op, long y) => op switch { '+' => x + y, '-' => x - y, '*' => x * y, _ => x / y };
            Assert.Equal(problem.Result, Apply(Apply(a, inner[op1], b), rest[0], c));
        }
    }
}
