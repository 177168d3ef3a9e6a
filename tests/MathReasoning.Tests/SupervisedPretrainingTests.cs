using Grpo.Samples.MathReasoning;

namespace MathReasoning.Tests;

public class SupervisedPretrainingTests
{
    [Theory]
    [InlineData(0.3, 3, 10)]
    [InlineData(0.25, 1, 4)]
    [InlineData(0.0, 0, 7)]
    [InlineData(1.0, 7, 7)]
    public void The_worked_answers_are_exactly_the_configured_share_of_every_run_of_problems(double share, int worked, int run)
    {
        var options = new PretrainOptions { WorkedShare = share };
        // Every window of `run` consecutive problems, wherever it starts, holds exactly `worked` worked answers.
        for (int start = 0; start < 100; start++)
            Assert.Equal(worked, Enumerable.Range(start, run).Count(i => SupervisedPretraining.ShowsWork(options, i)));
    }
}
