using Grpo.Training;

namespace Grpo.Tests.Training;

public class GrpoOptionsTests
{
    [Fact]
    public void DefaultsAreTrlsAndValid()
    {
        var o = new GrpoOptions();
        o.Validate();
        Assert.Equal(8, o.NumGenerations);
        Assert.Equal(256, o.MaxCompletionLength);
        Assert.Equal(1e-6, o.LearningRate);
        Assert.Equal(0.0, o.Beta);
        Assert.Equal(0.2, o.Epsilon);
        Assert.Equal(0.2, o.EffectiveEpsilonHigh);
        Assert.Null(o.Delta);
        Assert.Equal(LossType.Dapo, o.LossType);
        Assert.Equal(ScaleRewards.Group, o.ScaleRewards);
        Assert.Equal(ImportanceSamplingLevel.Token, o.ImportanceSamplingLevel);
        Assert.Equal(1, o.NumIterations);
        Assert.Equal(1.0, o.TopEntropyQuantile);
        Assert.Equal(1.0, o.MaxGradNorm);
        Assert.Equal(42, o.Seed);
        Assert.Equal([1.0, 1.0, 1.0], o.ResolveRewardWeights(3));
    }

    public static TheoryData<string, GrpoOptions> BadOptions => new()
    {
        { "NumGenerations", new GrpoOptions { NumGenerations = 1 } },
        { "PromptsPerStep", new GrpoOptions { PromptsPerStep = 0 } },
        { "MaxCompletionLength", new GrpoOptions { MaxCompletionLength = 0 } },
        { "Temperature", new GrpoOptions { Temperature = 0 } },
        { "TopP", new GrpoOptions { TopP = 1.5 } },
        { "TopK", new GrpoOptions { TopK = -1 } },
        { "MinP", new GrpoOptions { MinP = 2 } },
        { "LearningRate", new GrpoOptions { LearningRate = 0 } },
        { "WarmupSteps", new GrpoOptions { WarmupSteps = -1 } },
        { "WarmupRatio", new GrpoOptions { WarmupRatio = 1 } },
        { "MaxSteps", new GrpoOptions { MaxSteps = 0 } },
        { "NumTrainEpochs", new GrpoOptions { NumTrainEpochs = 0 } },
        { "AdamBeta1", new GrpoOptions { AdamBeta1 = 1 } },
        { "AdamBeta2", new GrpoOptions { AdamBeta2 = -0.1 } },
        { "AdamEpsilon", new GrpoOptions { AdamEpsilon = 0 } },
        { "WeightDecay", new GrpoOptions { WeightDecay = -1 } },
        { "MaxGradNorm", new GrpoOptions { MaxGradNorm = double.NaN } },
        { "GradientAccumulationSteps", new GrpoOptions { GradientAccumulationSteps = 0 } },
        { "GradientAccumulationSteps", new GrpoOptions { PromptsPerStep = 1, NumGenerations = 8, GradientAccumulationSteps = 3 } },
        { "Beta", new GrpoOptions { Beta = -0.01 } },
        { "Epsilon", new GrpoOptions { Epsilon = 0 } },
        { "Epsilon", new GrpoOptions { Epsilon = 1 } },
        { "EpsilonHigh", new GrpoOptions { EpsilonHigh = 0 } },
        { "Delta", new GrpoOptions { Delta = 1.0 } },
        { "LossType", new GrpoOptions { LossType = (LossType)17 } },
        { "ScaleRewards", new GrpoOptions { ScaleRewards = (ScaleRewards)17 } },
        { "ImportanceSamplingLevel", new GrpoOptions { ImportanceSamplingLevel = (ImportanceSamplingLevel)17 } },
        { "LearningRateSchedule", new GrpoOptions { LearningRateSchedule = (LearningRateSchedule)17 } },
        { "NumIterations", new GrpoOptions { NumIterations = 0 } },
        { "RewardWeights", new GrpoOptions { RewardWeights = [] } },
        { "RewardWeights", new GrpoOptions { RewardWeights = [1.0, double.NaN] } },
        { "TopEntropyQuantile", new GrpoOptions { TopEntropyQuantile = 1.5 } },
        { "LogProbChunkTokens", new GrpoOptions { LogProbChunkTokens = 0 } },
        { "OutputDir", new GrpoOptions { OutputDir = " " } },
        { "SaveSteps", new GrpoOptions { SaveSteps = -1 } },
        { "LoggingSteps", new GrpoOptions { LoggingSteps = 0 } },
    };

    [Theory]
    [MemberData(nameof(BadOptions))]
    public void AnOutOfRangeOptionIsNamedInTheError(string option, GrpoOptions options)
    {
        var error = Assert.ThrowsAny<ArgumentException>(options.Validate);
        Assert.Equal(option, error.ParamName);
        Assert.Contains(option, error.Message);
    }

    [Fact]
    public void TheGroupErrorSaysWhyAndTheBatchErrorSaysHowToSplit()
    {
        var group = Assert.ThrowsAny<ArgumentException>(new GrpoOptions { NumGenerations = 1 }.Validate);
        Assert.Contains("2 or more", group.Message);
        var split = Assert.ThrowsAny<ArgumentException>(new GrpoOptions { PromptsPerStep = 3, NumGenerations = 4, GradientAccumulationSteps = 5 }.Validate);
        Assert.Contains("12 completions", split.Message);
        Assert.Contains("divisor", split.Message);
    }

    [Fact]
    public void EpsilonHighOverridesTheUpperClip()
    {
        var o = new GrpoOptions { Epsilon = 0.2, EpsilonHigh = 0.28, Delta = 1.5 };
        o.Validate();
        Assert.Equal(0.28, o.EffectiveEpsilonHigh);
    }

    [Fact]
    public void RewardWeightsMustMatchTheFunctionCount()
    {
        var o = new GrpoOptions { RewardWeights = [1.0, 0.5] };
        Assert.Equal([1.0, 0.5], o.ResolveRewardWeights(2));
        var error = Assert.Throws<ArgumentException>(() => o.ResolveRewardWeights(3));
        Assert.Equal("RewardWeights", error.ParamName);
        Assert.Contains("one weight per function", error.Message);
    }
}
