namespace Grpo.Rewards.Math.Tests;

/// <summary>
/// Equivalence of bare answers, each expectation worked out by hand. Gold first, prediction second.
/// </summary>
public class EquivalenceTests
{
    static void Same(string gold, string pred) =>
        Assert.True(MathVerifier.AreEquivalent(gold, pred), $"expected '{gold}' == '{pred}'");

    static void Different(string gold, string pred) =>
        Assert.False(MathVerifier.AreEquivalent(gold, pred), $"expected '{gold}' != '{pred}'");

    [Theory]
    [InlineData("1000", "1,000")]
    [InlineData("1000", "$1{,}000$")]
    [InlineData("1000", "$1\\,000$")]
    [InlineData("1000", "1 000")]
    [InlineData("11111111100", "$11,\\! 111,\\! 111,\\! 100$")]
    [InlineData("72", "72.0")]
    [InlineData("0.5", "$\\frac{1}{2}$")]
    [InlineData("-3", "$-3$")]
    [InlineData("1200", "1.2e3")]
    [InlineData("1200", "$1.2\\times10^{3}$")]
    [InlineData("0.0005", "5E-4")]
    [InlineData("\\$5", "5")]
    [InlineData("5", "5 dollars")]
    [InlineData("15", "$15\\text{ cm}^2$")]
    [InlineData("30", "$30^\\circ$")]
    [InlineData("30", "30°")]
    public void NumbersInTheirUsualNotations(string gold, string pred) => Same(gold, pred);

    [Theory]
    [InlineData("$\\frac{1}{2}$", "$\\dfrac{1}{2}$")]
    [InlineData("$\\frac{1}{2}$", "$\\tfrac12$")]
    [InlineData("$\\frac{3}{4}$", "3/4")]
    [InlineData("$\\frac{5}{2}$", "$2\\frac{1}{2}$")]         // mixed number: 2 + 1/2
    [InlineData("$\\frac{1}{3}$", "$\\frac{2}{6}$")]
    [InlineData("$\\frac{7}{12}$", "$\\frac{1}{3} + \\frac{1}{4}$")]
    [InlineData("1024", "$2^{10}$")]
    [InlineData("$\\frac{1}{8}$", "$2^{-3}$")]
    [InlineData("120", "$5!$")]
    [InlineData("10", "$\\binom{5}{2}$")]
    [InlineData("3", "$|-3|$")]
    public void ExactRationalArithmetic(string gold, string pred) => Same(gold, pred);

    [Theory]
    [InlineData("$2\\sqrt{2}$", "$\\sqrt{8}$")]
    [InlineData("$3\\sqrt{13}$", "$\\sqrt{117}$")]
    [InlineData("$\\frac{\\sqrt{2}}{2}$", "$\\frac{1}{\\sqrt{2}}$")]
    [InlineData("$\\sqrt{6}$", "$\\sqrt{2}\\sqrt{3}$")]
    [InlineData("3", "$\\sqrt[3]{27}$")]
    [InlineData("-2", "$\\sqrt[3]{-8}$")]
    [InlineData("$\\frac{5\\sqrt{42}}{27}$", "$\\frac{10\\sqrt{10.5}}{27}$")] // sqrt(10.5) = sqrt(42)/2
    [InlineData("$2\\pi$", "$\\pi + \\pi$")]
    [InlineData("$\\frac{9}{4}\\pi$", "$\\frac94\\pi$")]
    [InlineData("$1+\\sqrt{2}$", "$\\sqrt{3+2\\sqrt{2}}$")]              // (1 + sqrt 2)^2 = 3 + 2 sqrt 2
    public void RadicalsAndPiStayExact(string gold, string pred) => Same(gold, pred);

    [Theory]
    [InlineData("$\\sqrt{2}$", "$\\sqrt{3}$")]
    [InlineData("$2\\sqrt{2}$", "$\\sqrt{2}+1$")]
    [InlineData("$\\pi$", "3.14")]
    [InlineData("$\\frac{1}{3}$", "0.333")]
    [InlineData("$4$", "$4\\sqrt{2}$")]
    [InlineData("$e$", "$\\pi$")]
    public void DifferentValuesDiffer(string gold, string pred) => Different(gold, pred);

    [Fact]
    public void DecimalsMatchExactValuesAfterRoundingToSixPlaces()
    {
        Same("$\\frac{1}{3}$", "0.3333333333");     // both round to 0.333333
        Same("$\\frac{1}{12}$", "0.0833333333333333");
        Same("$\\pi$", "3.14159265");               // 3.141593 either way
        Same("$\\sqrt{17}$", "4.123105625617661");
        Different("$\\frac{1}{3}$", "0.3333");      // 0.3333 vs 0.333333
        Different("$\\frac{2}{3}$", "0.666666");    // 0.666666 vs 0.666667
    }

    [Fact]
    public void FloatRoundingIsConfigurable()
    {
        var two = MathVerifierOptions.Default with { FloatRounding = 2 };
        Assert.True(MathVerifier.AreEquivalent("$\\frac{1}{3}$", "0.33", two));
        Assert.False(MathVerifier.AreEquivalent("$\\frac{1}{3}$", "0.33"));
        Assert.Throws<ArgumentOutOfRangeException>(() => MathVerifierOptions.Default with { FloatRounding = 16 });
    }

    [Theory]
    [InlineData("$(x+1)^2$", "$x^2+2x+1$")]
    [InlineData("$\\frac{x+2}{7}$", "$\\frac{x}{7}+\\frac{2}{7}$")]
    [InlineData("$\\frac{x^2-1}{x-1}$", "$x+1$")]
    [InlineData("$2-2p$", "$-2p+2$")]
    [InlineData("$2x$", "$x+x$")]
    [InlineData("$xy$", "$y \\cdot x$")]
    [InlineData("$0.72x$", "$\\frac{18x}{25}$")]
    public void PolynomialsCompareExactly(string gold, string pred) => Same(gold, pred);

    [Theory]
    [InlineData("$(x+1)^2$", "$x^2+1$")]
    [InlineData("$x+2n+1$", "$x+1$")]
    [InlineData("$(a+5)(b+2)$", "$(+5)(b+2)$")]
    public void DifferentPolynomialsDiffer(string gold, string pred) => Different(gold, pred);

    [Theory]
    [InlineData("$\\tan^2(y)+1$", "$\\sec^2(y)$")]
    [InlineData("1", "$\\sin^2 x + \\cos^2 x$")]
    [InlineData("$\\frac{1}{2}$", "$\\sin(\\pi/6)$")]
    [InlineData("3", "$\\log_2 8$")]
    [InlineData("1", "$\\ln(e)$")]
    [InlineData("$2\\sin b \\cos a$", "$\\sin(a+b) - \\sin(a-b)$")]
    [InlineData("$e^{2x}$", "$(e^x)^2$")]
    public void FunctionsCompareAtRandomPoints(string gold, string pred) => Same(gold, pred);

    [Fact]
    public void NonIdentitiesFailAtRandomPoints()
    {
        Different("$\\sin^2 x$", "$\\cos^2 x$");
        Different("$\\ln(x)$", "$\\log_2 x$");
    }

    [Theory]
    [InlineData("$3+4i$", "$4i+3$")]
    [InlineData("$2i$", "$\\sqrt{-4}$")]
    [InlineData("-1", "$i^2$")]
    [InlineData("$\\frac{1}{2} - \\frac{1}{2}i$", "$\\frac{1}{1+i}$")]
    public void ComplexNumbers(string gold, string pred) => Same(gold, pred);

    [Theory]
    [InlineData("5", "$x = 5$")]
    [InlineData("$x = 5$", "5")]
    [InlineData("$k=\\frac{1}{3}$", "$\\frac{1}{3}$")]
    [InlineData("$2x+1$", "$y = 2x+1$")]
    [InlineData("$2x+4y-3=0$", "$y=-\\frac{1}{2}x+\\frac{3}{4}$")]  // the same line, scaled by 4
    [InlineData("$x = 11$", "$x = 5+5+1 = 11$")]
    public void EquationsCompareByValueOrByLine(string gold, string pred) => Same(gold, pred);

    [Fact]
    public void EquationsThatAreNotLabelledValuesDoNotUnwrap()
    {
        Different("$a + 3z = 0$", "0");   // the left side computes, it does not name
        Different("$x = 1$", "$y = 1$");
        Different("$2x+4y-3=0$", "$y = x$");
    }

    [Theory]
    [InlineData("$x < 1$", "$-x > -1$")]
    [InlineData("$x \\leq 5$", "$5 \\geq x$")]
    [InlineData("$x > 2$", "$(2, \\infty)$")]
    [InlineData("$-2 \\le x \\le 7$", "$[-2, 7]$")]
    [InlineData("$1\\leq|z|\\leq \\frac{3}{2}$", "$z \\in \\left[-\\frac{3}{2}, -1\\right] \\cup \\left[1, \\frac{3}{2}\\right]$")]
    [InlineData("$x \\neq 3$", "$x != 3$")]
    public void InequalitiesAndIntervals(string gold, string pred) => Same(gold, pred);

    [Fact]
    public void DifferentInequalitiesAndIntervalsDiffer()
    {
        Different("$x > 5$", "$x < 5$");
        Different("$x \\geq 5$", "$x > 5$");
        Different("$(0, 1]$", "$[0, 1]$");
        Different("$[0,1)$", "$(0, 1)$");
        Different("$x > 2$", "$[2, \\infty)$");
    }

    [Fact]
    public void IntervalsAndUnions()
    {
        Same("$[0, 1)$", "$[0,1)$");
        Same("$(-\\infty, -3] \\cup [2, \\infty)$", "$[2, \\infty) \\cup (-\\infty, -3]$");
        Same("$[1, 3]$", "$[1, 2) \\cup [2, 3]$");
        Same("$(1, \\infty)$", "$(1, +\\infty)$");
    }

    [Fact]
    public void TuplesAreOrderedSetsAndListsAreNot()
    {
        Same("$(1, 2)$", "$(1,2)$");
        Different("$(1, 2)$", "$(2, 1)$");
        Same("$\\{1, 2\\}$", "$\\{2, 1\\}$");
        Same("$1, 2, 3$", "$3, 1, 2$");
        Same("$1, 2$", "$1$ and $2$");
        Same("$\\{1, 2\\}$", "$\\{1, 1, 2\\}$");
        Different("$1, 2$", "$1, 2, 3$");
        Same("$1 \\pm \\sqrt{19}$", "$1 - \\sqrt{19}, 1 + \\sqrt{19}$");
        Different("$\\pm 2021$", "2021");
        Same("$(5, 8), (8, 5)$", "$(8, 5), (5, 8)$");
    }

    [Fact]
    public void Matrices()
    {
        Same("$\\begin{pmatrix}1 & 2 \\\\ 3 & 4\\end{pmatrix}$", "$\\begin{bmatrix}1 & 2 \\\\ 3 & 4\\end{bmatrix}$");
        Same("$\\begin{pmatrix}\\frac{1}{2} \\\\ 1\\end{pmatrix}$", "$\\begin{pmatrix}0.5 \\\\ 1\\end{pmatrix}$");
        Same("$\\begin{pmatrix}6 & 8 \\\\ 10 & 12\\end{pmatrix}$", "$\\begin{pmatrix}1 & 2 \\\\ 3 & 4\\end{pmatrix} + \\begin{pmatrix}5 & 6 \\\\ 7 & 8\\end{pmatrix}$");
        Same("$\\begin{pmatrix}19 & 22 \\\\ 43 & 50\\end{pmatrix}$", "$\\begin{pmatrix}1 & 2 \\\\ 3 & 4\\end{pmatrix}\\begin{pmatrix}5 & 6 \\\\ 7 & 8\\end{pmatrix}$");
        Different("$\\begin{pmatrix}1 & 2 \\\\ 3 & 4\\end{pmatrix}$", "$\\begin{pmatrix}1 & 2 \\\\ 3 & 5\\end{pmatrix}$");
        Different("$\\begin{pmatrix}1 & 2\\end{pmatrix}$", "$\\begin{pmatrix}1 \\\\ 2\\end{pmatrix}$");
    }

    [Fact]
    public void PercentagesMatchTheNumberOrItsHundredth()
    {
        Same("$28\\%$", "28");
        Same("$28\\%$", "0.28");
        Same("$28\\%$", "28 percent");
        Same("$28\\%$", "$\\boxed{28 pct}$");
        Different("$28\\%$", "0.028");
    }

    [Fact]
    public void TextAnswersAndMultipleChoice()
    {
        Same("$\\text{Evelyn}$", "Therefore, $\\boxed{\\text{Evelyn}}$ is our answer.");
        Same("$\\text{odd}$", "$odd$");
        Same("B", "$\\boxed{\\text{(B)}}$");
        Same("C", "The answer is (C).");
        Different("$d$", "$\\text{E}$");
    }

    [Fact]
    public void StrictVariablesIsConfigurable()
    {
        Different("$f(x)$", "$f(y)$");
        Assert.True(MathVerifier.AreEquivalent("$f(x)$", "$f(y)$", MathVerifierOptions.Default with { StrictVariables = false }));
    }

    [Fact]
    public void RatiosAndBases()
    {
        Same("$7:32$", "$\\boxed{7:32}$");
        Same("$1:2$", "$2:4$");
        Different("$12:00$", "$1:00$");
        Same("$204_5$", "54");               // 2*25 + 0*5 + 4
        Different("$1112112_3$", "$1112122_3$");
    }
}
