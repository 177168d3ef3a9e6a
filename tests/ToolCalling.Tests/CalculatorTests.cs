using System.Text.Json;
using Grpo.Samples.ToolCalling;
using Microsoft.Extensions.AI;

namespace ToolCalling.Tests;

public class CalculatorTests
{
    [Theory]
    [InlineData("(3*4)+5", 17)]             // 12 + 5
    [InlineData("3*4+5", 17)]               // * binds tighter than +
    [InlineData("3+4*5", 23)]               // 3 + 20
    [InlineData("(3+4)*5", 35)]             // 7 * 5
    [InlineData("20-6-4", 10)]              // left to right: 14 - 4
    [InlineData("48/4/3", 4)]               // left to right: 12 / 3
    [InlineData("(18/3)+2", 8)]             // 6 + 2
    [InlineData(" ( 7 - 9 ) * 3 ", -6)]     // spaces anywhere; -2 * 3
    [InlineData("-5+2", -3)]
    [InlineData("2*-3", -6)]
    [InlineData("--4", 4)]
    [InlineData("((((1))))", 1)]
    [InlineData("9223372036854775807", long.MaxValue)]
    public void It_evaluates_integer_arithmetic_with_precedence_and_parentheses(string expression, long expected) =>
        Assert.Equal(expected, Calculator.Evaluate(expression));

    [Theory]
    [InlineData("", "ends where a number should be")]
    [InlineData("3*", "ends where a number should be")]
    [InlineData("3*+4", "Expected a number at position 3")]
    [InlineData("(3+4", "Missing ')'")]
    [InlineData("3+4)", "Unexpected ')' at position 4")]
    [InlineData("2**3", "Expected a number at position 3")]
    [InlineData("1.5+2", "Unexpected '.' at position 2")]
    [InlineData("import os", "Expected a number at position 1")]
    [InlineData("7/0", "Division by zero")]
    [InlineData("7/2", "7/2 is not a whole number")]
    [InlineData("9223372036854775808", "too large")]
    [InlineData("9223372036854775807+1", "too large")]
    [InlineData("3037000500*3037000500", "too large")]
    public void Bad_input_is_refused_with_a_message_that_says_what_is_wrong(string expression, string message)
    {
        var error = Assert.Throws<ArgumentException>(() => Calculator.Evaluate(expression));
        Assert.Contains(message, error.Message);
    }

    [Fact]
    public void Long_input_is_refused_before_parsing_so_deep_nesting_cannot_exhaust_the_stack()
    {
        var deep = new string('(', 100_000) + "1" + new string(')', 100_000);
        Assert.Contains($"at most {Calculator.MaxLength}", Assert.Throws<ArgumentException>(() => Calculator.Evaluate(deep)).Message);
        var longest = new string('(', 99) + "10" + new string(')', 99);
        Assert.Equal(Calculator.MaxLength, longest.Length);
        Assert.Equal(10, Calculator.Evaluate(longest));
    }

    [Fact]
    public async Task As_a_tool_it_is_named_calculate_takes_an_expression_and_returns_the_number()
    {
        var function = Calculator.Function;
        Assert.Equal("calculate", function.Name);
        var schema = function.JsonSchema;
        Assert.Equal("string", schema.GetProperty("properties").GetProperty("expression").GetProperty("type").GetString());
        var result = await function.InvokeAsync(new AIFunctionArguments(new Dictionary<string, object?> { ["expression"] = "(9*6)-20" }));
        Assert.Equal(34, Assert.IsType<JsonElement>(result).GetInt64());
        // Arguments as the tool-call parser gives them: JSON values.
        var parsed = JsonDocument.Parse("""{"expression": "100/4"}""").RootElement.GetProperty("expression");
        Assert.Equal(25, ((JsonElement)(await function.InvokeAsync(new AIFunctionArguments(new Dictionary<string, object?> { ["expression"] = parsed })))!).GetInt64());
        await Assert.ThrowsAsync<ArgumentException>(async () => await function.InvokeAsync(new AIFunctionArguments(new Dictionary<string, object?> { ["expression"] = "1/0" })));
    }
}
