using System.ComponentModel;
using System.Text.Json;
using Grpo.Data;
using Grpo.Sampling;
using Grpo.Tokenization;
using Grpo.Tools;
using Grpo.Training;
using Microsoft.Extensions.AI;

namespace Grpo.Tests.Tools;

/// <summary>
/// The multi-turn loop against a scripted model (every token known): what a tool's reply appends, what is masked,
/// and each fault as a recorded outcome. Expected tokens are written from Qwen2.5's chat template by hand.
/// </summary>
public class ToolRolloutsTests
{
    static readonly SpecialByteTokenizer Tokenizer = SpecialByteTokenizer.ChatMl;
    const string Prompt = "<|im_start|>user\nq<|im_end|>\n<|im_start|>assistant\n";

    static string Call(string json) => $"<tool_call>\n{json}\n</tool_call>";
    static readonly string AddCall = Call("{\"name\": \"add\", \"arguments\": {\"a\": 2, \"b\": 3}}");

    /// <summary>The tokens Qwen2.5's template writes after an assistant turn's <c>&lt;|im_end|&gt;</c> for these tool results.</summary>
    static int[] ToolTurn(params string[] results) => Tokenizer.Encode(
        "\n<|im_start|>user" + string.Concat(results.Select(r => $"\n<tool_response>\n{r}\n</tool_response>")) + "<|im_end|>\n<|im_start|>assistant\n");

    static int[] Turn(string text) => [.. Tokenizer.Encode(text), SpecialByteTokenizer.ImEnd];

    static readonly AIFunction Add = AIFunctionFactory.Create((int a, int b) => a + b, "add", "Adds two integers.");

    static (IReadOnlyList<Completion> Completions, ScriptedDecoder Decoder) Roll(Func<int, string[]> turns, int groupSize, IReadOnlyList<AIFunction> tools,
        int maxNew = 400, int? maxRounds = null, TimeSpan? timeout = null, Func<ToolEnvironment>? environments = null, Action<string, int>? released = null,
        IReadOnlyList<Problem>? problems = null)
    {
        ScriptedDecoder? decoder = null;
        using var rollouts = new ToolRollouts(Tokenizer, new ChatMlFormatter(), new SamplingOptions { MaxNewTokens = maxNew, EosTokenIds = [SpecialByteTokenizer.ImEnd] },
            tools, maxRounds, timeout ?? TimeSpan.FromSeconds(10), environments,
            (slots, _) => decoder = new ScriptedDecoder(slots, (_, sample) => turns(sample), released), TorchSharp.torch.CPU, [], () => { });
        var request = new RolloutRequest([Tokenizer.Encode(Prompt)], groupSize, Seed: 1) { Problems = problems };
        var completions = rollouts.GenerateAsync(request).GetAwaiter().GetResult();
        return (completions, decoder!);
    }

    [Fact]
    public void AToolsReplyIsAppendedAsTheTemplatesToolTurnAndMaskedOutOfThePolicy()
    {
        var (completions, decoder) = Roll(_ => [AddCall, "5"], groupSize: 1, [Add]);

        var c = Assert.Single(completions);
        int[] expected = [.. Turn(AddCall), .. ToolTurn("5"), .. Turn("5")];
        Assert.Equal(expected, c.TokenIds);
        Assert.Equal(FinishReason.Eos, c.FinishReason);
        int call = Turn(AddCall).Length, reply = ToolTurn("5").Length;
        Assert.Equal([.. Enumerable.Repeat(true, call), .. Enumerable.Repeat(false, reply), true, true], c.PolicyTokenMask!);
        Assert.All(c.LogProbs.Skip(call).Take(reply), l => Assert.Equal(0f, l));
        Assert.Equal(call + 2, c.PolicyTokenCount);
        // The slot resumed with its last sampled token (the end of its turn) and the tool turn, in one append.
        Assert.Equal([SpecialByteTokenizer.ImEnd, .. ToolTurn("5")], Assert.Single(decoder.Resumed).Tokens);
        Assert.Equal((1, 0), (c.ToolCalls, c.ToolFailures));

        // The conversation rewards see: the call, its result, the answer.
        var messages = c.ToRewardInput(new Problem("q", new Dictionary<string, JsonElement>())).Messages;
        Assert.Equal([ChatRole.Assistant, ChatRole.Tool, ChatRole.Assistant], messages.Select(m => m.Role));
        var parsed = Assert.IsType<FunctionCallContent>(messages[0].Contents[^1]);
        Assert.Equal("add", parsed.Name);
        Assert.Equal("5", Assert.IsType<FunctionResultContent>(Assert.Single(messages[1].Contents)).Result!.ToString());
        Assert.Equal("5", messages[2].Text);
    }

    [Fact]
    public void FaultsBecomeErrorRepliesAndRecordedOutcomesAndTheRolloutGoesOn()
    {
        using var stuck = new SemaphoreSlim(0);
        AIFunction[] tools =
        [
            Add,
            AIFunctionFactory.Create(int () => throw new InvalidOperationException("kaput"), "boom"),
            // Ignores its cancellation token: the rollout must abandon it at the timeout.
            AIFunctionFactory.Create(int () => { stuck.Wait(); return 1; }, "hang"),
        ];
        string[][] scripts =
        [
            [Call("{\"name\": \"boom\", \"arguments\": {}}"), "ok"],
            [Call("{\"name\": \"hang\", \"arguments\": {}}"), "ok"],
            [Call("{\"name\": \"add\", \"arguments\": {\"a\": 2,}}"), "ok"],            // malformed JSON
            [Call("{\"name\": \"add\", \"arguments\": {\"a\": \"two\", \"b\": 3}}"), "ok"], // arguments the function rejects
            [Call("{\"name\": \"nope\", \"arguments\": {}}"), "ok"],                    // no such tool
            ["<tool_call>\n{\"name\": \"add\""],                                        // never closes its call, then ends its turn
            ["<tool_call>\n{\"name\": \"add\", \"arguments\": {\"a\": 1, \"b\": 1}}" + new string(' ', 700)], // cut off by the length limit
            [AddCall, "5"],
        ];
        try
        {
            var (completions, _) = Roll(sample => scripts[sample], scripts.Length, tools, maxNew: 600, timeout: TimeSpan.FromSeconds(2));

            string Reply(Completion c) => Tokenizer.Decode(c.TokenIds.Where((_, t) => !c.PolicyTokenMask![t]));
            Assert.Contains("{\"error\": \"kaput\"}", Reply(completions[0]));
            Assert.Contains("did not finish within 2 s", Reply(completions[1]));
            Assert.Contains("is not valid JSON", Reply(completions[2]));
            Assert.Contains("\"error\": ", Reply(completions[3]));
            Assert.Contains("Tool nope not found", Reply(completions[4]));
            for (int s = 0; s < 5; s++)
            {
                Assert.Equal((1, 1, FinishReason.Eos), (completions[s].ToolCalls, completions[s].ToolFailures, completions[s].FinishReason));
                Assert.EndsWith("ok", completions[s].Text);   // the model went on after the error
            }
            Assert.Equal((0, FinishReason.Eos), (completions[5].ToolCalls, completions[5].FinishReason));
            Assert.Equal((0, FinishReason.Length, 600), (completions[6].ToolCalls, completions[6].FinishReason, completions[6].TokenIds.Length));
            Assert.Equal((1, 0), (completions[7].ToolCalls, completions[7].ToolFailures));

            // TRL: calls per completion, failures per call.
            Assert.Equal(new ToolMetrics(6 / 8.0, 5 / 6.0), ToolMetrics.From(completions));
        }
        finally
        {
            stuck.Release();
        }
    }

    [Fact]
    public void AModelThatCallsForeverStopsAtTheIterationCapOrTheCompletionBudget()
    {
        var forever = Enumerable.Repeat(AddCall, 50).ToArray();

        var (capped, _) = Roll(_ => forever, groupSize: 2, [Add], maxRounds: 2);
        foreach (var c in capped)
        {
            Assert.Equal((2, FinishReason.ToolCallLimit), (c.ToolCalls, c.FinishReason));
            int[] expected = [.. Turn(AddCall), .. ToolTurn("5"), .. Turn(AddCall), .. ToolTurn("5"), .. Turn(AddCall)];
            Assert.Equal(expected, c.TokenIds);
        }

        // No cap (TRL's default): tool tokens count toward the budget, which ends it.
        var (unlimited, _) = Roll(_ => forever, groupSize: 1, [Add], maxNew: 500);
        var last = Assert.Single(unlimited);
        Assert.Equal(FinishReason.Length, last.FinishReason);
        Assert.True(last.TokenIds.Length <= 500, $"{last.TokenIds.Length} tokens");
        // Every call turn that fits runs (TRL counts a call whose reply then does not fit): k calls and k - 1 replies.
        int call = Turn(AddCall).Length, reply = ToolTurn("5").Length;
        Assert.Equal((500 + reply) / (call + reply), last.ToolCalls);
    }

    [Fact]
    public void ARowWaitingForItsToolDoesNotStopTheOthersDecoding()
    {
        var othersDone = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
        var order = new List<int>();
        // Sample 0's tool answers only once sample 1 has finished: were the batch to wait for the tool, sample 1
        // could never finish and the tool would time out.
        var wait = AIFunctionFactory.Create(async (CancellationToken ct) => { await othersDone.Task.WaitAsync(ct); return "done"; }, "wait_for_other");
        var (completions, decoder) = Roll(
            sample => sample == 0 ? [Call("{\"name\": \"wait_for_other\", \"arguments\": {}}"), "fine"] : [new string('x', 200)],
            groupSize: 2, [wait], timeout: TimeSpan.FromSeconds(20),
            released: (_, sample) => { lock (order) order.Add(sample); if (sample == 1) othersDone.TrySetResult(); });

        Assert.Equal([.. Turn(Call("{\"name\": \"wait_for_other\", \"arguments\": {}}")), .. ToolTurn("done"), .. Turn("fine")], completions[0].TokenIds);
        Assert.Equal(0, completions[0].ToolFailures);
        Assert.Equal([1, 0], order);
        // Steps that decoded sample 1 alone: while sample 0 waited.
        Assert.Contains(decoder.DecodeSteps, step => step is [(_, 1)]);
    }

    sealed class Counter : ToolEnvironment
    {
        int _target, _count;

        public override void Reset(Problem row) => (_target, _count) = (row.Fields["target"].GetInt32(), 0);

        [Description("Adds one to the counter and returns it.")]
        public int Increment() => ++_count;

        public override double? GetReward() => _count == _target ? 1 : 0;

        public override string ToString() => $"counter at {_count}";   // not a tool: it overrides object's
    }

    [Fact]
    public void EachRolloutGetsItsOwnEnvironmentResetWithItsRowAndScoredByIt()
    {
        var increment = Call("{\"name\": \"Increment\", \"arguments\": {}}");
        var row = new Problem("q", new Dictionary<string, JsonElement> { ["target"] = JsonSerializer.SerializeToElement(2) });
        var (completions, _) = Roll(sample => sample == 0 ? [increment, increment, "two"] : [increment, "one"], groupSize: 2, [],
            environments: () => new Counter(), problems: [row]);

        Assert.Equal([.. Turn(increment), .. ToolTurn("1"), .. Turn(increment), .. ToolTurn("2"), .. Turn("two")], completions[0].TokenIds);
        Assert.Equal([.. Turn(increment), .. ToolTurn("1"), .. Turn("one")], completions[1].TokenIds);
        var reward = new EnvironmentReward("Counter");
        Assert.Equal([1.0, 0.0], completions.Select(c => reward.Score(c.ToRewardInput(row))));
        Assert.Equal(5, completions[0].ToRewardInput(row).Messages.Count);
        Assert.Equal(["Increment"], new Counter().Tools.Select(t => t.Name));
    }

    [Fact]
    public async Task OnTheDecodeEngineARolloutWithoutCallsIsExactlyTheGroupSamplers()
    {
        // A random model never closes a call, so every row is one turn: the tool loop must then draw what the
        // lockstep sampler draws from the same seed, token for token.
        var model = Grpo.Modeling.CausalLM.Create(Grpo.Modeling.ModelConfig.Tiny("qwen3", vocabSize: 258), seed: 4);
        var sampling = new SamplingOptions { MaxNewTokens = 12, EosTokenIds = [SpecialByteTokenizer.ImEnd] };
        int[][] prompts = [Tokenizer.Encode(Prompt), Tokenizer.Encode("<|im_start|>user\nlonger question<|im_end|>\n<|im_start|>assistant\n")];
        using var tools = new ToolRollouts(model, Tokenizer, new ChatMlFormatter(), sampling, [Add], null, TimeSpan.FromSeconds(5));
        using var plain = new InProcessRollouts(model, Tokenizer, sampling);

        var request = new RolloutRequest(prompts, GroupSize: 3, Seed: 8);
        var expected = await plain.GenerateAsync(request);
        var actual = await tools.GenerateAsync(request);

        Assert.Equal(expected.Select(c => c.TokenIds), actual.Select(c => c.TokenIds));
        Assert.Equal(expected.Select(c => c.LogProbs), actual.Select(c => c.LogProbs));
        Assert.Equal(expected.Select(c => c.FinishReason), actual.Select(c => c.FinishReason));
        Assert.All(actual, c => Assert.All(c.PolicyTokenMask!, Assert.True));
        Assert.Equal(new ToolMetrics(0, 0), ToolMetrics.From(actual));
    }

    [Fact]
    public async Task ABatchWhoseCacheCannotFitInMemoryIsRefusedBeforeAllocating()
    {
        using var model = Grpo.Modeling.CausalLM.Create(Grpo.Modeling.ModelConfig.Tiny("qwen3", vocabSize: 258), seed: 4);
        var config = model.Config;
        Assert.Equal(TorchSharp.torch.ScalarType.Float32, model.Dtype);
        using var tools = new ToolRollouts(model, Tokenizer, new ChatMlFormatter(), new SamplingOptions { MaxNewTokens = 100, EosTokenIds = [SpecialByteTokenizer.ImEnd] },
            [Add], null, TimeSpan.FromSeconds(5));
        // By hand: float32 keys and values of every layer for the prompt + 100 positions, and three vocabulary-wide
        // float rows, per completion; a group twice as large as this machine's memory allows.
        var prompt = Tokenizer.Encode(Prompt);
        double perRow = 2.0 * config.NumHiddenLayers * config.NumKeyValueHeads * config.HeadDim * (prompt.Length + 100) * 4 + 3.0 * 258 * 4;
        int groupSize = (int)(2 * GC.GetGCMemoryInfo().TotalAvailableMemoryBytes / perRow);

        var error = await Assert.ThrowsAsync<InvalidOperationException>(() => tools.GenerateAsync(new RolloutRequest([prompt], groupSize, Seed: 1)));
        Assert.Contains($"{groupSize:N0} sequences of up to {prompt.Length + 100:N0} tokens", error.Message);
        Assert.Contains($"about {groupSize * perRow / (1L << 30):N1} GiB", error.Message);
        Assert.Contains("group size", error.Message);
    }

    [Fact]
    public void BadSetupsAreRefusedWithWhatToDo()
    {
        Assert.Contains("use InProcessRollouts", Assert.Throws<ArgumentException>(() => Roll(_ => ["x"], 1, [])).Message);
        Assert.Contains("give the request its Problems", Assert.Throws<ArgumentException>(
            () => Roll(_ => ["x"], 1, [], environments: () => new Counter())).Message);
    }
}
