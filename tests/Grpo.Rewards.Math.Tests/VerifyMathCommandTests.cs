using System.CommandLine;
using System.Text.Json.Nodes;
using Grpo.Cli;

namespace Grpo.Rewards.Math.Tests;

/// <summary>Runs <c>grpo verify-math</c> in-process on tiny JSONL files.</summary>
public sealed class VerifyMathCommandTests : IDisposable
{
    readonly string _folder = Directory.CreateTempSubdirectory("verify-math-").FullName;

    public void Dispose() => Directory.Delete(_folder, recursive: true);

    string Write(string name, params string[] lines)
    {
        var path = Path.Combine(_folder, name);
        File.WriteAllLines(path, lines);
        return path;
    }

    static async Task<(int Code, string Out, string Err)> Run(params string[] args)
    {
        var root = new RootCommand { VerifyMathCommand.Create() };
        var output = new StringWriter();
        var error = new StringWriter();
        int code = await root.Parse(args).InvokeAsync(new InvocationConfiguration { Output = output, Error = error });
        return (code, output.ToString(), error.ToString());
    }

    [Fact]
    public async Task WritesEachObjectWithItsVerdictInInputOrder()
    {
        var input = Write("in.jsonl",
            """{"id": 1, "gold": "Natalia sold 72 clips.\n#### 72", "pred": "So she sold \\boxed{72} clips."}""",
            """{"id": 2, "gold": "$\\frac{1}{3}$", "pred": "0.333", "model": "m"}""",
            "",
            """{"id": 3, "gold": 12, "pred": "The answer is 12."}""");

        var (code, stdout, stderr) = await Run("verify-math", "--input", input);

        Assert.Equal(0, code);
        var rows = stdout.Split('\n', StringSplitOptions.RemoveEmptyEntries).Select(l => JsonNode.Parse(l)!.AsObject()).ToList();
        Assert.Equal([1, 2, 3], rows.Select(r => (int)r["id"]!));
        Assert.Equal([true, false, true], rows.Select(r => (bool)r["equivalent"]!));
        Assert.Equal("m", (string)rows[1]["model"]!);                    // other fields kept
        Assert.Equal("$\\frac{1}{3}$", (string)rows[1]["gold"]!);
        Assert.Equal("verify-math: 3 lines, 2 equivalent, 1 not equivalent", stderr.TrimEnd().Split('\n')[^1]);
    }

    [Fact]
    public async Task WritesToTheOutputFileWhenGiven()
    {
        var input = Write("in.jsonl", """{"gold": "$x^2+2x+1$", "pred": "$(x+1)^2$"}""");
        var outputPath = Path.Combine(_folder, "out.jsonl");

        var (code, stdout, _) = await Run("verify-math", "--input", input, "--output", outputPath);

        Assert.Equal(0, code);
        Assert.Equal("", stdout);
        Assert.Equal("""{"gold":"$x^2+2x+1$","pred":"$(x+1)^2$","equivalent":true}""", File.ReadAllText(outputPath).Trim());
    }

    [Fact]
    public async Task BadInputNamesTheLineAndTheFix()
    {
        var input = Write("bad.jsonl", """{"gold": "1", "pred": "1"}""", """{"gold": "1"}""");
        var (code, stdout, stderr) = await Run("verify-math", "--input", input);
        Assert.Equal(1, code);
        Assert.StartsWith("verify-math: bad.jsonl line 2: missing \"pred\". Nothing was written.", stderr);
        Assert.Single(stderr.TrimEnd().Split('\n'));
        Assert.Equal("", stdout); // line 1 is good, but nothing is written before every line is read

        var (missingCode, _, missingErr) = await Run("verify-math", "--input", Path.Combine(_folder, "none.jsonl"));
        Assert.Equal(1, missingCode);
        Assert.Contains("not found", missingErr);
    }

    [Fact]
    public async Task BadLineLeavesAnExistingOutputFileAsItWas()
    {
        var input = Write("bad.jsonl", """{"gold": "1", "pred": "1"}""", "not json", """{"gold": "2", "pred": "2"}""");
        var outputPath = Write("out.jsonl", "an earlier run's rows");

        var (code, _, stderr) = await Run("verify-math", "--input", input, "--output", outputPath);

        Assert.Equal(1, code);
        Assert.StartsWith("verify-math: bad.jsonl line 2: not valid JSON", stderr);
        Assert.Equal("an earlier run's rows\n", File.ReadAllText(outputPath));
        Assert.Equal(["bad.jsonl", "out.jsonl"], Directory.GetFiles(_folder).Select(Path.GetFileName).Order(StringComparer.Ordinal));
    }

    [Fact]
    public async Task OutputPathIsCheckedBeforeAnyLineIsRead()
    {
        // The input's bad line would be reported if the input were read first.
        var input = Write("in.jsonl", "not json");
        var missing = Path.Combine(_folder, "missing", "out.jsonl");

        var (missingCode, _, missingErr) = await Run("verify-math", "--input", input, "--output", missing);
        var (folderCode, _, folderErr) = await Run("verify-math", "--input", input, "--output", _folder);

        Assert.Equal(1, missingCode);
        Assert.Equal($"verify-math: the output folder '{Path.GetDirectoryName(missing)}' does not exist. Create it or choose another --output path.", missingErr.TrimEnd());
        Assert.Equal(1, folderCode);
        Assert.Equal($"verify-math: --output '{_folder}' is a folder. Give the path of a file to write.", folderErr.TrimEnd());
    }
}
