using Grpo.Chat;
using Grpo.Lora;
using Grpo.Modeling;
using Grpo.Sampling;
using Grpo.Tests.Modeling;
using Grpo.Tests.Sampling;
using Grpo.Tokenization;
using Microsoft.Extensions.AI;
using AIChatMessage = Microsoft.Extensions.AI.ChatMessage;

namespace Grpo.Tests.Chat;

public class GrpoChatClientTests
{
    static readonly ByteTokenizer Bytes = new();
    static readonly SamplingOptions ByteEos = new() { EosTokenIds = [ByteTokenizer.Eos] };
    static readonly AIChatMessage[] Question = [new(ChatRole.User, "2+2=")];
    static readonly string QuestionPrompt = new ChatMlFormatter().Format([new Grpo.Tokenization.ChatMessage("user", "2+2=")], addGenerationPrompt: true);

    static CausalLM RandomModel() => TestModels.Random(ModelConfig.Tiny("qwen3"), seed: 21);

    // After the generation prompt's last byte ('\n') the model writes "Olá ☃!" byte by byte, then EOS.
    static readonly int[] OlaScript = [(int)'\n', .. Bytes.Encode("Olá ☃!"), ByteTokenizer.Eos];

    static async Task<List<ChatResponseUpdate>> Collect(IAsyncEnumerable<ChatResponseUpdate> updates)
    {
        var list = new List<ChatResponseUpdate>();
        await foreach (var update in updates)
            list.Add(update);
        return list;
    }

    [Fact]
    public async Task GreedyReplyIsGroupSamplersGreedyCompletion()
    {
        using var model = RandomModel();
        using var client = new GrpoChatClient(model, Bytes, new ChatMlFormatter(), ByteEos);
        var response = await client.GetResponseAsync(Question, new ChatOptions { Temperature = 0, MaxOutputTokens = 16 });

        using var sampler = new GroupSampler(model, Bytes, ByteEos with { TopK = 1, MaxNewTokens = 16 });
        var expected = sampler.Sample([QuestionPrompt], groupSize: 1)[0];
        Assert.Equal(expected.Text, response.Text);
        Assert.Equal(expected.Truncated ? ChatFinishReason.Length : ChatFinishReason.Stop, response.FinishReason);
        Assert.Equal(Bytes.Encode(QuestionPrompt).Length, response.Usage!.InputTokenCount);
        Assert.Equal(expected.TokenIds.Length, response.Usage.OutputTokenCount);
        Assert.Equal(ChatRole.Assistant, Assert.Single(response.Messages).Role);
    }

    [Fact]
    public async Task SeededSamplingMatchesGroupSamplerAndStreamingJoinsToTheSameText()
    {
        using var model = RandomModel();
        using var client = new GrpoChatClient(model, Bytes, new ChatMlFormatter(), ByteEos);
        var options = new ChatOptions { Temperature = 0.8f, TopP = 0.9f, Seed = 5, MaxOutputTokens = 40 };

        // Random bytes: characters cut between tokens and invalid sequences, which streaming must not split differently.
        using var sampler = new GroupSampler(model, Bytes, ByteEos with { Temperature = 0.8f, TopP = 0.9f, Seed = 5, MaxNewTokens = 40 });
        var expected = sampler.Sample([QuestionPrompt], groupSize: 1)[0].Text;
        var response = await client.GetResponseAsync(Question, options);
        var streamed = string.Concat((await Collect(client.GetStreamingResponseAsync(Question, options))).Select(u => u.Text));
        var otherSeed = await client.GetResponseAsync(Question, new ChatOptions { Temperature = 0.8f, TopP = 0.9f, Seed = 6, MaxOutputTokens = 40 });

        Assert.Equal(expected, response.Text);
        Assert.Equal(expected, streamed);
        Assert.NotEqual(expected, otherSeed.Text);
    }

    [Fact]
    public async Task StreamingYieldsWholeCharactersTokenByToken()
    {
        using var model = ScriptedModel.Create(320, [OlaScript]);
        using var client = new GrpoChatClient(model, Bytes, new ChatMlFormatter(), ByteEos);
        var updates = await Collect(client.GetStreamingResponseAsync(Question, new ChatOptions { Temperature = 1 }));

        // 'á' is two tokens and '☃' three: each appears once it is whole, never as U+FFFD.
        Assert.Equal(["O", "l", "á", " ", "☃", "!"], updates.Where(u => u.Text.Length > 0).Select(u => u.Text));
        Assert.Equal(ChatFinishReason.Stop, updates[^1].FinishReason);
        Assert.Equal(OlaScript.Length - 1, updates.SelectMany(u => u.Contents).OfType<UsageContent>().Single().Details.OutputTokenCount);
    }

    [Fact]
    public async Task AStopSequenceEndsTheReplyAndIsNeverShown()
    {
        using var model = ScriptedModel.Create(320, [OlaScript]);
        using var client = new GrpoChatClient(model, Bytes, new ChatMlFormatter(), ByteEos);
        var options = new ChatOptions { StopSequences = ["☃!"] };
        var updates = await Collect(client.GetStreamingResponseAsync(Question, options));
        var response = await client.GetResponseAsync(Question, options);

        Assert.Equal(["O", "l", "á", " "], updates.Where(u => u.Text.Length > 0).Select(u => u.Text));
        Assert.Equal("Olá ", response.Text);
        Assert.Equal(ChatFinishReason.Stop, response.FinishReason);
        Assert.Equal(Bytes.Encode("Olá ☃!").Length, response.Usage!.OutputTokenCount);   // generation stopped at the '!'
    }

    [Fact]
    public async Task MaxOutputTokensCutsTheReplyWithFinishReasonLength()
    {
        using var model = ScriptedModel.Create(320, [OlaScript]);
        using var client = new GrpoChatClient(model, Bytes, new ChatMlFormatter(), ByteEos);
        var response = await client.GetResponseAsync(Question, new ChatOptions { MaxOutputTokens = 3 });

        // Three tokens end inside 'á': its first byte alone is U+FFFD, flushed at the end.
        Assert.Equal("Ol\uFFFD", response.Text);
        Assert.Equal(ChatFinishReason.Length, response.FinishReason);
    }

    [Fact]
    public async Task FunctionInvokingChatClientRunsTheToolTheModelCallsAndGetsTheAnswer()
    {
        const string generationPrompt = "<|im_start|>assistant\n";
        const string arguments = "\n{\"name\": \"get_weather\", \"arguments\": {\"city\": \"Paris\"}}\n";
        // The tool's reply, the end of its turn and the next generation prompt as one token: the model answers only
        // when the prompt holds exactly the tool's result.
        const string afterResult = "\n21 °C\n</tool_response><|im_end|>\n<|im_start|>assistant\n";
        var tokenizer = new PieceTokenizer(generationPrompt, "<tool_call>", arguments, "</tool_call>", afterResult, "It is 21 °C", " in Paris.");
        int[] callScript = [tokenizer.Id(generationPrompt), tokenizer.Id("<tool_call>"), tokenizer.Id(arguments), tokenizer.Id("</tool_call>"), PieceTokenizer.ImEnd];
        int[] answerScript = [tokenizer.Id(afterResult), tokenizer.Id("It is 21 °C"), tokenizer.Id(" in Paris."), PieceTokenizer.ImEnd];
        using var model = ScriptedModel.Create(320, [callScript, answerScript]);
        using var grpo = new GrpoChatClient(model, tokenizer, new ChatMlFormatter(), new SamplingOptions { EosTokenIds = [PieceTokenizer.ImEnd] });

        var cities = new List<string>();
        var weather = AIFunctionFactory.Create((string city) => { cities.Add(city); return "21 °C"; }, "get_weather", "The temperature in a city now.");
        using var client = new ChatClientBuilder(grpo).UseFunctionInvocation().Build();
        var options = new ChatOptions { Tools = [weather] };

        var direct = await grpo.GetResponseAsync([new AIChatMessage(ChatRole.User, "How warm is Paris?")], options);
        var call = Assert.IsType<FunctionCallContent>(Assert.Single(direct.Messages.Single().Contents, c => c is FunctionCallContent));
        Assert.Equal("get_weather", call.Name);
        Assert.Equal("Paris", call.Arguments!["city"]!.ToString());
        Assert.Equal(ChatFinishReason.ToolCalls, direct.FinishReason);
        Assert.Equal("", direct.Text);

        var response = await client.GetResponseAsync([new AIChatMessage(ChatRole.User, "How warm is Paris?")], options);
        Assert.Equal(["Paris"], cities);
        Assert.Equal("It is 21 °C in Paris.", response.Messages[^1].Text);
        Assert.Equal(ChatFinishReason.Stop, response.FinishReason);

        // Streaming shows none of the call's text, and the call arrives as content.
        var streamed = await Collect(grpo.GetStreamingResponseAsync([new AIChatMessage(ChatRole.User, "How warm is Paris?")], options));
        Assert.Equal("", string.Concat(streamed.Select(u => u.Text)));
        Assert.Single(streamed.SelectMany(u => u.Contents).OfType<FunctionCallContent>());
    }

    [Fact]
    public async Task AToolsStringResultReachesTheModelUnquotedAndOtherResultsAsPythonJson()
    {
        // AIFunctionFactory hands a method's result back as a JsonElement, a string result as a JSON string.
        var text = await AIFunctionFactory.Create(() => "21 °C", "text").InvokeAsync(new AIFunctionArguments());
        var record = await AIFunctionFactory.Create(() => new Dictionary<string, object> { ["t"] = 21.5, ["unit"] = "°C" }, "record").InvokeAsync(new AIFunctionArguments());
        var turns = Grpo.Tokenization.ChatMessage.FromAI([new AIChatMessage(ChatRole.Tool, [new FunctionResultContent("a", text), new FunctionResultContent("b", record)])]);

        Assert.Equal(["21 °C", "{\"t\": 21.5, \"unit\": \"°C\"}"], turns.Select(t => t.Content));
        Assert.All(turns, t => Assert.Equal("tool", t.Role));
    }

    [Fact]
    public async Task CancellingStopsTheReplyAndFreesTheClientForTheNext()
    {
        using var model = RandomModel();
        using var client = new GrpoChatClient(model, Bytes, new ChatMlFormatter(), ByteEos with { EosTokenIds = [ByteTokenizer.Eos + 1] });
        var options = new ChatOptions { MaxOutputTokens = 1500, Seed = 1 };

        using var cancelled = new CancellationTokenSource();
        await cancelled.CancelAsync();
        await Assert.ThrowsAnyAsync<OperationCanceledException>(() => client.GetResponseAsync(Question, options, cancelled.Token));

        using var midway = new CancellationTokenSource();
        var seen = 0;
        await Assert.ThrowsAnyAsync<OperationCanceledException>(async () =>
        {
            await foreach (var update in client.GetStreamingResponseAsync(Question, options, midway.Token))
                if (++seen == 3)
                    await midway.CancelAsync();
        });
        Assert.Equal(3, seen);   // no update after the cancellation

        var next = await client.GetResponseAsync(Question, new ChatOptions { MaxOutputTokens = 4, Seed = 1 });
        Assert.Equal(4, next.Usage!.OutputTokenCount);
    }

    [Fact]
    public async Task ConcurrentRequestsTakeTurnsAndEachGetsItsOwnReply()
    {
        using var model = RandomModel();
        using var client = new GrpoChatClient(model, Bytes, new ChatMlFormatter(), ByteEos);
        var options = new ChatOptions { Temperature = 0.8f, Seed = 3, MaxOutputTokens = 20 };
        var alone = (await client.GetResponseAsync(Question, options)).Text;

        var together = await Task.WhenAll(Enumerable.Range(0, 4).Select(_ => Task.Run(() => client.GetResponseAsync(Question, options))));
        Assert.All(together, r => Assert.Equal(alone, r.Text));

        // A request cancelled while it waits for its turn leaves without running.
        using var waiting = new CancellationTokenSource();
        var first = client.GetResponseAsync(Question, options);
        var second = client.GetResponseAsync(Question, options, waiting.Token);
        await waiting.CancelAsync();
        await Assert.ThrowsAnyAsync<OperationCanceledException>(() => second);
        Assert.Equal(alone, (await first).Text);
    }

    public static TheoryData<ChatOptions, string> BadOptions() => new()
    {
        { new ChatOptions { Temperature = -0.5f }, "Temperature must be 0 (greedy) or a positive number" },
        { new ChatOptions { TopP = 0 }, "TopP must be in (0, 1]" },
        { new ChatOptions { TopP = 1.5f }, "TopP must be in (0, 1]" },
        { new ChatOptions { TopK = 0 }, "TopK must be positive" },
        { new ChatOptions { MaxOutputTokens = 0 }, "MaxOutputTokens must be positive" },
        { new ChatOptions { MaxOutputTokens = 5000 }, "does not fit: the conversation is 54 tokens of the model's context of 2048; ask for at most 1994" },
        { new ChatOptions { StopSequences = [""] }, "StopSequences has an empty string" },
        { new ChatOptions { PresencePenalty = 0.5f }, "does not apply frequency or presence penalties" },
        { new ChatOptions { ResponseFormat = ChatResponseFormat.Json }, "cannot constrain replies to JSON" },
        { new ChatOptions { Tools = [AIFunctionFactory.Create(() => 1, "one")], ToolMode = ChatToolMode.RequireAny }, "cannot force the model to call a tool" },
    };

    [Theory]
    [MemberData(nameof(BadOptions))]
    public void BadOptionsAreRefusedWhenTheCallIsMade(ChatOptions options, string message)
    {
        using var model = RandomModel();
        using var client = new GrpoChatClient(model, Bytes, new ChatMlFormatter(), ByteEos);
        Assert.Equal(54, Bytes.Encode(QuestionPrompt).Length);   // the prompt length named above
        var error = Assert.ThrowsAny<Exception>(() => client.GetStreamingResponseAsync(Question, options));
        Assert.Contains(message, error.Message);
    }

    [Fact]
    public void ToolsNeedAFormatThatCanDescribeThem()
    {
        using var model = RandomModel();
        using var client = new GrpoChatClient(model, Bytes, new PlainFormat(), ByteEos);
        var error = Assert.Throws<NotSupportedException>(() => client.GetStreamingResponseAsync(Question, new ChatOptions { Tools = [AIFunctionFactory.Create(() => 1, "one")] }));
        Assert.Contains("cannot describe tools", error.Message);
    }

    sealed class PlainFormat : IChatFormatter
    {
        public string Format(IReadOnlyList<Grpo.Tokenization.ChatMessage> messages, bool addGenerationPrompt) => string.Concat(messages.Select(m => m.Content));
    }

    [Fact]
    public async Task OpensAModelFolderAndAnswersAsTheSamplerDoes()
    {
        var folder = Path.Combine(RepositoryRoot(), "samples", "MathReasoning", "model");
        using var client = GrpoChatClient.Open(folder);
        var question = "Gus has 11 eggs and buys 8 bags with 3 eggs in each. How many eggs does Gus have now?";
        var response = await client.GetResponseAsync([new AIChatMessage(ChatRole.User, question)], new ChatOptions { Temperature = 0, MaxOutputTokens = 24 });

        var model = (CausalLM)client.GetService(typeof(CausalLM))!;
        var tokenizer = HfTokenizer.FromDirectory(folder);
        var prompt = new ChatMlFormatter().Format([new Grpo.Tokenization.ChatMessage("user", question)], addGenerationPrompt: true);
        using var sampler = new GroupSampler(model, tokenizer, new SamplingOptions { TopK = 1, MaxNewTokens = 24, EosTokenIds = [.. EosTokens.FromDirectory(folder, tokenizer)] });
        Assert.Equal(sampler.Sample([prompt], groupSize: 1)[0].Text, response.Text);
        Assert.Equal("model", client.GetService<ChatClientMetadata>()!.DefaultModelId);

        Assert.Throws<DirectoryNotFoundException>(() => GrpoChatClient.Open(Path.Combine(folder, "missing")));
    }

    [Fact]
    public async Task OpensAModelFolderWithAnAdapterAndAnswersAsTheAdaptedModelDoes()
    {
        var folder = Path.Combine(RepositoryRoot(), "samples", "MathReasoning", "model");
        var adapterFolder = Path.Combine(TestModels.TempFolder(), "adapter");
        var question = "What is 12 + 30?";
        var prompt = new ChatMlFormatter().Format([new Grpo.Tokenization.ChatMessage("user", question)], addGenerationPrompt: true);
        var tokenizer = HfTokenizer.FromDirectory(folder);
        var greedy = new SamplingOptions { TopK = 1, MaxNewTokens = 16, EosTokenIds = [.. EosTokens.FromDirectory(folder, tokenizer)] };

        string baseText, adaptedText;
        using (var model = Checkpoint.Load(folder))
        {
            using (var baseSampler = new GroupSampler(model, tokenizer, greedy))
                baseText = baseSampler.Sample([prompt], groupSize: 1)[0].Text;
            // A fresh adapter computes the base model (B = 0), so B gets large random weights that change the answer.
            var lora = LoraModel.Apply(model, new LoraOptions { Rank = 4, Alpha = 8 }, folder);
            using (var noGrad = TorchSharp.torch.no_grad())
            using (var generator = new TorchSharp.torch.Generator(7))
                foreach (var parameter in lora.TrainableParameters().Where((_, i) => i % 2 == 1))
                    parameter.normal_(0, 1.0, generator: generator);
            lora.Save(adapterFolder);
        }
        using (var model = Checkpoint.Load(folder))
        {
            LoraModel.Load(model, adapterFolder);
            using var sampler = new GroupSampler(model, tokenizer, greedy);
            adaptedText = sampler.Sample([prompt], groupSize: 1)[0].Text;
        }

        using var client = GrpoChatClient.Open(folder, adapterFolder);
        var response = await client.GetResponseAsync([new AIChatMessage(ChatRole.User, question)], new ChatOptions { Temperature = 0, MaxOutputTokens = 16 });
        Assert.NotEqual(baseText, adaptedText);
        Assert.Equal(adaptedText, response.Text);
        Assert.NotNull(client.Adapter);
        Assert.Equal("model+adapter", client.ModelId);
        Directory.Delete(Path.GetDirectoryName(adapterFolder)!, recursive: true);
    }

    static string RepositoryRoot()
    {
        var dir = new DirectoryInfo(AppContext.BaseDirectory);
        while (dir is not null && !File.Exists(Path.Combine(dir.FullName, "Grpo.sln"))) dir = dir.Parent;
        return dir?.FullName ?? throw new DirectoryNotFoundException("Grpo.sln not found above the test's folder.");
    }
}
