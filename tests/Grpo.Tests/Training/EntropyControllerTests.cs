using Grpo.Training;

namespace Grpo.Tests.Training;

/// <summary><see cref="EntropyController"/> step by step against TRL's adaptive rule, worked out by hand.</summary>
public class EntropyControllerTests
{
    [Fact]
    public void AdaptiveControlMovesTheCoefficientByDeltaWithinItsBoundsAndAppliesItOnlyAtOrBelowTheTarget()
    {
        var controller = new EntropyController(0.1, adaptive: true, minimum: 0.09, maximum: 0.12, delta: 0.01, target: 1.0);
        Assert.Equal(0.0, controller.AppliedCoefficient); // no measurement yet: last entropy +∞ is above the target
        Assert.Equal(double.PositiveInfinity, controller.LastEntropy);

        controller.Update(entropySum: 4, tokenCount: 5); // 0.8 ≤ 1: up to 0.11, applied
        Assert.Equal(0.11, controller.Coefficient, 15);
        Assert.Equal(0.8, controller.LastEntropy, 15);
        Assert.Equal(0.11, controller.AppliedCoefficient, 15);

        controller.Update(3, 2); // 1.5 > 1: down to 0.10, not applied
        Assert.Equal(0.10, controller.Coefficient, 15);
        Assert.Equal(0.0, controller.AppliedCoefficient);

        controller.Update(3, 2); // down to the minimum 0.09 and no further
        controller.Update(3, 2);
        Assert.Equal(0.09, controller.Coefficient, 15);

        controller.Update(1, 1); // exactly at the target counts as at or below
        controller.Update(0, 0); // no tokens: entropy 0 / max(0, 1) = 0
        controller.Update(0, 0);
        controller.Update(0, 0);
        Assert.Equal(0.12, controller.Coefficient, 15); // capped at the maximum
        Assert.Equal(0.0, controller.LastEntropy);
        Assert.Equal(0.12, controller.Metrics()["entropy_coef"], 15);
    }

    [Fact]
    public void AFixedCoefficientIgnoresUpdatesAndRestoreBringsBackSavedState()
    {
        var fixedCoefficient = new EntropyController(0.05);
        fixedCoefficient.Update(0, 10);
        Assert.Equal(0.05, fixedCoefficient.AppliedCoefficient);
        Assert.Equal(double.PositiveInfinity, fixedCoefficient.LastEntropy);

        var options = new GrpoOptions { EntropyCoef = 0.2, UseAdaptiveEntropy = true, EntropyTarget = 0.5, EntropyCoefDelta = 0.1 };
        var resumed = EntropyController.From(options);
        resumed.Restore(coefficient: 0.3, lastEntropy: 0.4);
        Assert.Equal(0.3, resumed.AppliedCoefficient);
        resumed.Update(1, 1);
        Assert.Equal(0.2, resumed.Coefficient, 15);
        Assert.Throws<ArgumentOutOfRangeException>(() => resumed.Restore(double.NaN, 0));
        Assert.Throws<ArgumentOutOfRangeException>(() => new EntropyController(0.1, adaptive: true, minimum: 1, maximum: 0));
    }
}
