using System.Globalization;
using Microsoft.Extensions.AI;

namespace Grpo.Samples.ToolCalling;

/// <summary>
/// The sample's tool: <c>calculate(expression)</c> evaluates integer arithmetic with + - * /, unary minus and
/// parentheses, by its own recursive-descent parser (model output is never handed to an evaluator of code). Bad input
/// throws with a message that says what is wrong and where; the trainer's tool loop shows the model that message as
/// <c>{"error": ...}</c> and counts the call as failed (<c>tools/failure_frequency</c>).
/// </summary>
public static class Calculator
{
    /// <summary>The longest expression accepted; also bounds the parser's recursion.</summary>
    public const int MaxLength = 200;

    /// <summary>The tool as the trainer and the chat format see it: its name, description and JSON schema from the method.</summary>
    public static AIFunction Function { get; } = AIFunctionFactory.Create(Evaluate, "calculate",
        "Evaluates an integer arithmetic expression with + - * / and parentheses, such as (3*4)+5.");

    /// <summary>The value of <paramref name="expression"/>, such as 17 for "(3*4)+5".</summary>
    /// <exception cref="ArgumentException">The expression is empty, too long, malformed, divides by zero or inexactly, or overflows 64 bits.</exception>
    public static long Evaluate(string expression)
    {
        ArgumentNullException.ThrowIfNull(expression);
        if (expression.Length > MaxLength)
            throw new ArgumentException($"The expression is {expression.Length} characters; give at most {MaxLength}.");
        var parser = new Parser(expression);
        var value = parser.Sum();
        parser.SkipSpaces();
        if (!parser.AtEnd)
            throw new ArgumentException($"Unexpected '{expression[parser.Position]}' at position {parser.Position + 1} of '{expression}'.");
        return value;
    }

    /// <summary>One pass over the text: Sum := Product (('+' | '-') Product)*; Product := Factor (('*' | '/') Factor)*; Factor := '-' Factor | '(' Sum ')' | digits.</summary>
    sealed class Parser(string text)
    {
        public int Position { get; private set; }

        public bool AtEnd => Position >= text.Length;

        public void SkipSpaces()
        {
            while (!AtEnd && text[Position] == ' ') Position++;
        }

        bool Take(char c)
        {
            SkipSpaces();
            if (AtEnd || text[Position] != c) return false;
            Position++;
            return true;
        }

        public long Sum()
        {
            var value = Product();
            while (true)
            {
                if (Take('+')) value = Checked(() => checked(value + Product()));
                else if (Take('-')) value = Checked(() => checked(value - Product()));
                else return value;
            }
        }

        long Product()
        {
            var value = Factor();
            while (true)
            {
                if (Take('*')) value = Checked(() => checked(value * Factor()));
                else if (Take('/'))
                {
                    var divisor = Factor();
                    if (divisor == 0) throw new ArgumentException($"Division by zero in '{text}'.");
                    if (value % divisor != 0) throw new ArgumentException($"{value}/{divisor} is not a whole number; this calculator works on integers.");
                    value /= divisor;
                }
                else return value;
            }
        }

        long Factor()
        {
            if (Take('-')) return Checked(() => checked(-Factor()));
            if (Take('('))
            {
                var value = Sum();
                if (!Take(')')) throw new ArgumentException($"Missing ')' at position {Position + 1} of '{text}'.");
                return value;
            }
            SkipSpaces();
            int start = Position;
            while (!AtEnd && char.IsAsciiDigit(text[Position])) Position++;
            if (start == Position)
                throw new ArgumentException(AtEnd ? $"'{text}' ends where a number should be." : $"Expected a number at position {start + 1} of '{text}', found '{text[start]}'.");
            return long.TryParse(text.AsSpan(start, Position - start), NumberStyles.None, CultureInfo.InvariantCulture, out var number)
                ? number
                : throw new ArgumentException($"The number {text[start..Position]} is too large; numbers must fit in 64 bits.");
        }

        long Checked(Func<long> operation)
        {
            try
            {
                return operation();
            }
            catch (OverflowException)
            {
                throw new ArgumentException($"The result of '{text}' is too large; it must fit in 64 bits.");
            }
        }
    }
}
