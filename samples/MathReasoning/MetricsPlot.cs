using ScottPlot;

namespace Grpo.Samples.MathReasoning;

/// <summary>The picture of a run: mean training reward per step and held-out greedy accuracy at each evaluation, on one 0–1 axis.</summary>
public static class MetricsPlot
{
    /// <summary>Writes the plot as a PNG.</summary>
    /// <param name="path">The file to write.</param>
    /// <param name="rewards">(step, mean reward of the step's completions).</param>
    /// <param name="accuracy">(step, held-out greedy accuracy); step 0 is the model before training.</param>
    public static void Save(string path, IReadOnlyList<(int Step, double Reward)> rewards, IReadOnlyList<(int Step, double Accuracy)> accuracy)
    {
        var plot = new Plot();
        var reward = plot.Add.Scatter(rewards.Select(r => (double)r.Step).ToArray(), rewards.Select(r => r.Reward).ToArray());
        reward.LegendText = "training reward (mean per step)";
        reward.MarkerSize = 0;
        reward.LineWidth = 1;
        var held = plot.Add.Scatter(accuracy.Select(a => (double)a.Step).ToArray(), accuracy.Select(a => a.Accuracy).ToArray());
        held.LegendText = "held-out accuracy (greedy)";
        held.MarkerSize = 6;
        held.LineWidth = 2;
        plot.Axes.SetLimitsY(0, 1);
        plot.Title("GRPO on arithmetic word problems");
        plot.XLabel("step");
        plot.YLabel("reward / accuracy");
        plot.ShowLegend(Alignment.LowerRight);
        plot.SavePng(path, 900, 500);
    }
}
