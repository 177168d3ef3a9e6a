using Grpo.Training;

namespace Grpo.Tests.Training;

/// <summary>10 steps, peak 1.0, 2 warmup steps: ramp 0, 0.5, then the schedule over the remaining 8 steps.</summary>
public class LearningRateSchedulerTests
{
    [Theory]
    [InlineData(LearningRateSchedule.Constant, new[] { 0, 0.5, 1, 1, 1, 1, 1, 1, 1, 1 })]
    [InlineData(LearningRateSchedule.Linear, new[] { 0, 0.5, 1, 7 / 8.0, 6 / 8.0, 5 / 8.0, 4 / 8.0, 3 / 8.0, 2 / 8.0, 1 / 8.0 })]
    public void WarmupThenSchedule(LearningRateSchedule schedule, double[] expected)
    {
        var options = new GrpoOptions { LearningRate = 1.0, WarmupSteps = 2, LearningRateSchedule = schedule };
        var actual = Enumerable.Range(0, 10).Select(step => LearningRateScheduler.LearningRateAt(options, step, 10)).ToArray();
        Assert.Equal(expected, actual, new Within(1e-12));
    }

    [Fact]
    public void CosineIsHalfWayDownAtTheMiddleOfTheDecay()
    {
        var options = new GrpoOptions { LearningRate = 2e-5, WarmupSteps = 2, LearningRateSchedule = LearningRateSchedule.Cosine };
        Assert.Equal(2e-5, LearningRateScheduler.LearningRateAt(options, 2, 10), 15);
        Assert.Equal(1e-5, LearningRateScheduler.LearningRateAt(options, 6, 10), 15); // progress 4/8: (1 + cos π/2) / 2
        Assert.Equal(2e-5 * (1 + Math.Cos(Math.PI * 7 / 8)) / 2, LearningRateScheduler.LearningRateAt(options, 9, 10), 15);
    }

    [Fact]
    public void WarmupRatioRoundsUpAndWarmupStepsWin()
    {
        Assert.Equal(3, LearningRateScheduler.WarmupSteps(new GrpoOptions { WarmupRatio = 0.21 }, 10));
        Assert.Equal(4, LearningRateScheduler.WarmupSteps(new GrpoOptions { WarmupRatio = 0.21, WarmupSteps = 4 }, 10));
        Assert.Equal(0, LearningRateScheduler.WarmupSteps(new GrpoOptions(), 10));
    }
}
