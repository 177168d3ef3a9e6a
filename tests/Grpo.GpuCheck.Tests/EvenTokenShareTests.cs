using System.Text.Json;
using Grpo.Rewards;

namespace Grpo.GpuCheck.Tests;

/// <summary>The speed run's and the parity check's reward, against shares counted by hand.</summary>
public class EvenTokenShareTests
{
    [Theory]
    [InlineData(new[] { 2, 3, 4, 7 }, 0.5)]
    [InlineData(new[] { 1, 3, 5 }, 0.0)]
    [InlineData(new[] { 0, 10, 11 }, 2.0 / 3)]
    [InlineData(new int[0], 0.0)]
    public void ItScoresTheShareOfEvenTokenIds(int[] ids, double expected)
    {
        var input = new RewardInput("p", string.Join(' ', ids), ids, new Dictionary<string, JsonElement>());

        Assert.Equal(expected, new EvenTokenShare().Score(input), 12);
    }
}
