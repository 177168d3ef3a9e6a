namespace Grpo.Rewards.Math.Tests;

/// <summary>Where the verifier finds the final answer, and in what order of preference.</summary>
public class AnswerExtractorTests
{
    static string? Answer(string text, MathVerifierOptions? options = null) => AnswerExtractor.Extract(text, options)?.Text;

    [Fact]
    public void TakesTheLastBoxWithNestedBraces()
    {
        Assert.Equal("\\frac{\\sqrt{2}}{2}", Answer("First \\boxed{1}, then correcting: \\boxed{\\frac{\\sqrt{2}}{2}}."));
        Assert.Equal("7", Answer("so \\fbox{7}"));
        Assert.Equal(AnswerSource.Boxed, AnswerExtractor.Extract("so \\fbox{7}")!.Source);
    }

    [Fact]
    public void JoinsBoxesConnectedByAndButNotByOtherWords()
    {
        Assert.Equal("1, 2", Answer("\\boxed{1} papers and \\boxed{2} bins"));
        Assert.Equal("(2, 2), (6, 2)", Answer("$$\\boxed{(2, 2)} \\quad \\text{and} \\quad \\boxed{(6, 2)}$$"));
        Assert.Equal("2", Answer("\\boxed{1} no no no no no \\boxed{2}"));
    }

    [Fact]
    public void ReadsAnAnswerTag()
    {
        Assert.Equal("42", Answer("<think>6 times 7</think><answer>42</answer>"));
        Assert.Equal("\\frac{1}{2}", Answer("<answer>The answer is $\\frac{1}{2}$.</answer>"));
    }

    [Fact]
    public void ReadsGsm8kGoldAndNormalizesItsNumber()
    {
        const string gold = "Natalia sold 48/2 = <<48/2=24>>24 clips in May.\nNatalia sold 48+24 = <<48+24=72>>72 clips altogether.\n#### 72";
        Assert.Equal("72", Answer(gold));
        Assert.Equal("1234", Answer("... \n#### 1,234"));
    }

    [Fact]
    public void ReadsTheAnswerPhrase()
    {
        Assert.Equal("18", Answer("She pays 3 + 15. So the final answer is 18."));
        Assert.Equal("5", Answer("Answer: 5 apples"));
        Assert.Equal("34", Answer("Final Answer: The largest $n$ is 34."));
        Assert.Equal("28 \\%", Answer("Final Answer: The final answer is $28 \\%$. I hope it is correct."));
        Assert.Equal("5", Answer("The answer to part (a) is 5."));
        // "answer" as a verb is not a marker: the last number decides.
        Assert.Equal("12", Answer("To answer this, note that x is 3. Adding 9 gives 12."));
    }

    [Fact]
    public void AnExplicitFinalAnswerAfterABoxWins()
    {
        // Both are explicit markers; the one written last is the model's final word.
        Assert.Equal("10,455", Answer("... = \\boxed{200} ... = \\boxed{255} ... Final Answer: The final answer is $10,455$. I hope it is correct."));
    }

    [Fact]
    public void FallsBackToTheLastMathsOrNumber()
    {
        Assert.Equal("x \\geq 5", Answer("Therefore $x \\geq 5$ is the solution."));
        Assert.Equal("8", Answer("She has 3 apples and then 5 more, 8 in all."));
        Assert.Equal("2/3", Answer("P(A) = (1/2) * (4/3) P(A) = 2/3 Therefore the probability is 2/3. <|im_start|>user"));
        Assert.Equal("1000.99", Answer("the number is not 10 which is 1,000.99€"));
        Assert.Equal("2.74", Answer("Soucis : 2,74 $ a.."));
        Assert.Null(AnswerExtractor.Candidates("AZYUK2A").FirstOrDefault(c => c.Source == AnswerSource.LastNumber));
    }

    [Fact]
    public void JoinsMathSegmentsConnectedByAnd()
    {
        Assert.Equal("1, 2, 3", Answer("$1$ and $2$ and $3$"));
        Assert.Equal("21,16, 11", Answer("$21,16$ or $11$"));
    }

    [Fact]
    public void TheWholeTextWhenItIsOneExpression()
    {
        Assert.Equal("x^2 + 1", Answer("x^2 + 1"));
        Assert.Equal("\\frac{1}{2}", Answer("  $\\frac{1}{2}$ "));
        Assert.Equal("1.22", Answer("1,22"));
        Assert.Equal("7425000", Answer("7,425,000"));
    }

    [Fact]
    public void ExtractionOrderIsConfigurable()
    {
        const string text = "We guess \\boxed{3}, then count 5";
        Assert.Equal("3", Answer(text));
        var numbersOnly = MathVerifierOptions.Default with { ExtractionOrder = [[AnswerSource.LastNumber]] };
        Assert.Equal("5", Answer(text, numbersOnly));
        var boxedOnly = MathVerifierOptions.Default with { ExtractionOrder = [[AnswerSource.Boxed]] };
        Assert.Null(Answer("no box here, just 5", boxedOnly));
        Assert.Throws<ArgumentException>(() => MathVerifierOptions.Default with { ExtractionOrder = [] });
    }

    [Fact]
    public void NothingToExtract()
    {
        Assert.Null(Answer(""));
        Assert.Null(Answer("   "));
        Assert.Null(MathVerifier.ExtractAnswer(null));
    }
}
