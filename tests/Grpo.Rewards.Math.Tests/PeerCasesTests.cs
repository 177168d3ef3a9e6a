using System.Text.Json;
using System.Text.RegularExpressions;
using Xunit.Abstractions;

namespace Grpo.Rewards.Math.Tests;

/// <summary>
/// Math-Verify's own test cases (Data/math-verify-cases.jsonl, 270 of them, with Math-Verify's verdicts) run
/// through our verifier. Target: at least 97% agreement; every remaining disagreement is listed, with a reason,
/// in Data/peer-disagreements.md.
/// </summary>
public class PeerCasesTests(ITestOutputHelper output)
{
    public sealed record PeerCase(int Index, string Gold, string Pred, bool Expected, string Source, int? Precision, bool? Strict);

    static string DataFile(string name) => Path.Combine(AppContext.BaseDirectory, "Data", name);

    public static IReadOnlyList<PeerCase> LoadCases() =>
        File.ReadLines(DataFile("math-verify-cases.jsonl")).Where(l => l.Trim().Length > 0).Select((line, i) =>
        {
            using var doc = JsonDocument.Parse(line);
            var root = doc.RootElement;
            var kwargs = root.GetProperty("kwargs");
            int? precision = kwargs.TryGetProperty("precision", out var p) ? p.GetInt32() : null;
            bool? strict = kwargs.TryGetProperty("strict", out var s) ? s.GetBoolean() : null;
            return new PeerCase(i, root.GetProperty("gold").GetString()!, root.GetProperty("pred").GetString()!,
                root.GetProperty("expected").GetBoolean(), root.GetProperty("source").GetString()!, precision, strict);
        }).ToList();

    // Our defaults, plus the case's own settings where they are also our options.
    static MathVerifierOptions OptionsFor(PeerCase c) => MathVerifierOptions.Default with
    {
        FloatRounding = c.Precision ?? MathVerifierOptions.Default.FloatRounding,
        StrictVariables = c.Strict ?? MathVerifierOptions.Default.StrictVariables,
    };

    static SortedSet<int> ListedDisagreements() =>
        new(File.ReadLines(DataFile("peer-disagreements.md"))
            .Select(line => Regex.Match(line, @"^\|\s*(\d+)\s*\|"))
            .Where(m => m.Success)
            .Select(m => int.Parse(m.Groups[1].Value)));

    [Fact]
    public void AllCasesLoad()
    {
        var cases = LoadCases();
        Assert.Equal(270, cases.Count);
        Assert.Equal(232, cases.Count(c => c.Expected));
    }

    [Fact]
    public void AgreesWithMathVerifyOnAtLeast97PercentAndEveryDisagreementIsListed()
    {
        var cases = LoadCases();
        var disagreements = new SortedSet<int>();
        foreach (var c in cases)
        {
            var verdict = MathVerifier.Verify(c.Gold, c.Pred, OptionsFor(c));
            if (verdict.Equivalent == c.Expected) continue;
            disagreements.Add(c.Index);
            output.WriteLine($"#{c.Index} {c.Source}: Math-Verify {c.Expected}, ours {verdict.Equivalent} (gold read as [{verdict.GoldAnswer}], prediction as [{verdict.PredictedAnswer}])");
        }
        double agreement = 1.0 - (double)disagreements.Count / cases.Count;
        output.WriteLine($"agreement {cases.Count - disagreements.Count}/{cases.Count} = {agreement:P1}");
        Assert.True(agreement >= 0.97, $"agreement {agreement:P1} is below 97%");
        Assert.Equal(ListedDisagreements(), disagreements);
    }
}
