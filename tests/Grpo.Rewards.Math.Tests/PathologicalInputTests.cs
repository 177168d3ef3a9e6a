namespace Grpo.Rewards.Math.Tests;

/// <summary>
/// Inputs built to hang or crash a verifier. Each must give a verdict without throwing. The only timing
/// assertion is a generous hang guard; speed is measured in benchmarks/.
/// </summary>
public class PathologicalInputTests
{
    static readonly TimeSpan HangGuard = TimeSpan.FromSeconds(20);

    static bool Verdict(string gold, string pred)
    {
        var task = Task.Run(() => MathVerifier.AreEquivalent(gold, pred));
        Assert.True(task.Wait(HangGuard), $"verification did not finish within {HangGuard.TotalSeconds} s");
        return task.Result;
    }

    [Fact]
    public void TowersOfPowersStayUnexpanded()
    {
        Assert.True(Verdict("$10^{10^{10}}$", "$10^{10^{10}}$"));
        Assert.True(Verdict("$10^{10^{10}}$", "$10^{10000000000}$"));   // same base, same exponent
        Assert.False(Verdict("$10^{10^{10}}$", "1"));
        Assert.False(Verdict("$10^{10^{10}}$", "$10^{10^{10}} + 1$"));
        Assert.True(Verdict("$2^{2^{2^{2^{2}}}}$", "$2^{65536}$"));
        Assert.False(Verdict("$(x+1)^{100000}$", "$x$"));
        Assert.True(Verdict("$1000!$", "$1000!$"));
        Assert.False(Verdict("$1000!$", "0"));
    }

    [Fact]
    public void ZeroToTheZeroIsUndefined()
    {
        Assert.False(Verdict("1", "$0^0$"));
        Assert.False(Verdict("0", "$0^0$"));
    }

    [Fact]
    public void DeepNesting()
    {
        // Too deep to parse as one expression; its only number, 1, is still its value.
        var parens = new string('(', 10_000) + "1" + new string(')', 10_000);
        Assert.True(Verdict("1", parens));
        Assert.False(Verdict("2", parens));
        var roots = string.Concat(Enumerable.Repeat("\\sqrt{", 5_000)) + "2" + new string('}', 5_000);
        Assert.False(Verdict("2", "$" + roots + "$"));
        var minuses = new string('-', 10_000) + "1";
        Assert.False(Verdict("1", minuses));
    }

    [Fact]
    public void TenThousandCharacterAnswers()
    {
        var sum = "$" + string.Join("+", Enumerable.Repeat("1", 5_000)) + "$";
        Assert.False(Verdict("5000", sum));
        var digits = new string('7', 10_000);
        Assert.False(Verdict("7", digits));
        var prose = string.Concat(Enumerable.Repeat("and then we consider the next case ", 3_000)) + "so the answer is $\\boxed{42}$.";
        Assert.True(Verdict("42", prose));
    }

    [Fact]
    public void MalformedLatex()
    {
        Assert.False(Verdict("$\\frac{1}{2}$", "$\\frac{1}{2$"));
        Assert.False(Verdict("3", "$\\unknowncommand{3}$"));
        Assert.False(Verdict("1", "$\\frac{1}{0}$"));
        Assert.False(Verdict("$\\infty$", "$1/0$"));
        Assert.False(Verdict("1", "$\\sqrt{-1}$"));
        Assert.False(Verdict("$\\begin{pmatrix}1 & 2\\end{pmatrix}$", "$\\begin{pmatrix}1 & 2$"));
        Assert.False(Verdict("5", "}}}{{{"));
    }

    [Fact]
    public void EmptyInputs()
    {
        Assert.False(Verdict("", ""));
        Assert.False(Verdict("", "5"));
        Assert.False(Verdict("5", ""));
        Assert.False(MathVerifier.Verify("", "5").GoldParsed);
        Assert.False(MathVerifier.AreEquivalent(null, null));
    }

    [Fact]
    public void RandomGarbageNeverThrows()
    {
        // Seeded, so a failure reproduces: strings over the characters LaTeX answers are made of.
        const string alphabet = "0123456789+-*/^_{}()[]|,.=<>!%&\\$ xyzeipqrtafcsnlogbd";
        var random = new Random(20260101);
        for (int n = 0; n < 500; n++)
        {
            var chars = new char[random.Next(1, 60)];
            for (int k = 0; k < chars.Length; k++) chars[k] = alphabet[random.Next(alphabet.Length)];
            var text = new string(chars);
            var verdict = MathVerifier.Verify("$x^2 - 1$", text);
            Assert.NotNull(verdict);
            Assert.True(Verdict(text, text) || !MathVerifier.Verify(text, text).GoldParsed || text.Trim().Length == 0,
                $"an answer should equal itself: '{text}'");
        }
    }
}
