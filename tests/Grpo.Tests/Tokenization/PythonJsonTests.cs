using System.Text.Json;
using Grpo.Tokenization;

namespace Grpo.Tests.Tokenization;

/// <summary>
/// <see cref="PythonJson"/> against Python 3's <c>json.dumps(x, ensure_ascii=False, indent=...)</c>: every expected
/// string below is what Python printed for the same value.
/// </summary>
public sealed class PythonJsonTests
{
    [Theory]
    [InlineData(1.0, "1.0")]
    [InlineData(0.1, "0.1")]
    [InlineData(-0.0, "-0.0")]
    [InlineData(100.0, "100.0")]
    [InlineData(1e15, "1000000000000000.0")]
    [InlineData(1e16, "1e+16")]
    [InlineData(123456789012345678.0, "1.2345678901234568e+17")]
    [InlineData(0.0001, "0.0001")]
    [InlineData(1e-05, "1e-05")]
    [InlineData(-2.5e-05, "-2.5e-05")]
    [InlineData(1.5e-07, "1.5e-07")]
    [InlineData(1e300, "1e+300")]
    [InlineData(5e-324, "5e-324")]
    [InlineData(0.30000000000000004, "0.30000000000000004")]
    [InlineData(12345678.9, "12345678.9")]
    [InlineData(double.NaN, "NaN")]
    [InlineData(double.PositiveInfinity, "Infinity")]
    [InlineData(double.NegativeInfinity, "-Infinity")]
    public void FloatsAreWrittenAsPythonsRepr(double value, string python) => Assert.Equal(python, PythonJson.Dumps(value));

    [Fact]
    public void StringsEscapeOnlyQuotesBackslashesAndControlsAndKeepNonAscii()
    {
        var value = new Dictionary<string, object?>
        {
            ["s"] = "a\"b\\c\n\r\t\b\f\0\x1f\x7f é 😀",
            ["n"] = new object?[] { 1, -2L, 3.5, true, false, null },
            ["e"] = new Dictionary<string, object?>(),
            ["l"] = Array.Empty<int>(),
        };
        Assert.Equal("{\"s\": \"a\\\"b\\\\c\\n\\r\\t\\b\\f\\u0000\\u001f\x7f é 😀\", \"n\": [1, -2, 3.5, true, false, null], \"e\": {}, \"l\": []}",
            PythonJson.Dumps(value));
    }

    [Fact]
    public void IndentPutsEachItemOnItsLineAndLeavesEmptyContainersClosed()
    {
        using var document = JsonDocument.Parse("""{"a": {"b": [1, {"c": []}], "d": {}}, "e": "x"}""");
        Assert.Equal("{\n    \"a\": {\n        \"b\": [\n            1,\n            {\n                \"c\": []\n            }\n        ],\n        \"d\": {}\n    },\n    \"e\": \"x\"\n}",
            PythonJson.Dumps(document.RootElement, indent: 4));
    }

    [Fact]
    public void JsonNumbersAreReadAsPythonsJsonLoadsReadsThem()
    {
        // json.dumps(json.loads(...)) in Python: integers stay exact, any literal with '.', 'e' or 'E' is a float.
        using var document = JsonDocument.Parse("""{"i": -0, "big": 123456789012345678901234567890, "f": 1.50, "g": 1E2, "h": 1e999, "k": -0.0}""");
        Assert.Equal("{\"i\": 0, \"big\": 123456789012345678901234567890, \"f\": 1.5, \"g\": 100.0, \"h\": Infinity, \"k\": -0.0}",
            PythonJson.Dumps(document.RootElement));
    }
}
