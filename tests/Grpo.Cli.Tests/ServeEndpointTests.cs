using System.Net;
using System.Text.Json;
using Grpo.Tokenization;

namespace Grpo.Cli.Tests;

/// <summary><c>grpo serve</c>'s endpoints on the tiny model: shapes as vLLM answers, and log-probs the trainer recomputes.</summary>
public sealed class ServeEndpointTests : IAsyncLifetime
{
    ServeTestServer _server = null!;

    public async Task InitializeAsync() => _server = await ServeTestServer.StartAsync();

    public async Task DisposeAsync() => await _server.DisposeAsync();

    [Fact]
    public async Task HealthAndModelsAnswer()
    {
        using var health = await _server.Client.GetAsync("/health");
        Assert.Equal(HttpStatusCode.OK, health.StatusCode);

        var models = JsonDocument.Parse(await _server.Client.GetStringAsync("/v1/models")).RootElement;
        Assert.Equal("list", models.GetProperty("object").GetString());
        var card = Assert.Single(models.GetProperty("data").EnumerateArray());
        Assert.Equal(ServeTestServer.ModelName, card.GetProperty("id").GetString());
        Assert.Equal("model", card.GetProperty("object").GetString());
        Assert.Equal(2048, card.GetProperty("max_model_len").GetInt32());   // ModelConfig.Tiny's context
    }

    [Fact]
    public async Task CompletionLogProbsAreTheTrainersAndASeedRepeats()
    {
        const double temperature = 0.7;
        const string request = """
            {"model": "tiny", "prompt": [72, 105, 33], "n": 3, "max_tokens": 6, "temperature": 0.7, "top_k": -1, "top_p": 1,
             "min_p": 0, "repetition_penalty": 1, "seed": 5, "logprobs": 0, "return_token_ids": true, "stop_token_ids": [257]}
            """;
        var (status, body, text) = await _server.PostAsync("/v1/completions", request);
        Assert.True(status == HttpStatusCode.OK, text);
        Assert.Equal("text_completion", body.GetProperty("object").GetString());
        Assert.StartsWith("cmpl-", body.GetProperty("id").GetString());
        Assert.Equal("tiny", body.GetProperty("model").GetString());
        Assert.True(body.GetProperty("created").GetInt64() > 1_700_000_000);

        var choices = body.GetProperty("choices").EnumerateArray().ToList();
        Assert.Equal([0, 1, 2], choices.Select(c => c.GetProperty("index").GetInt32()));
        var tokenizer = HfTokenizer.FromDirectory(_server.ModelPath);
        int completionTokens = 0;
        foreach (var choice in choices)
        {
            var ids = ServeTestServer.Ints(choice.GetProperty("token_ids"));
            completionTokens += ids.Length;
            Assert.Equal([72, 105, 33], ServeTestServer.Ints(choice.GetProperty("prompt_token_ids")));
            bool ended = ids[^1] == TinyModelFolder.EndOfTurn;
            Assert.True(ended || ids.Length == 6);
            Assert.Equal(ended ? "stop" : "length", choice.GetProperty("finish_reason").GetString());
            Assert.Equal(JsonValueKind.Null, choice.GetProperty("stop_reason").ValueKind);   // the model's own EOS, as vLLM reports it
            Assert.Equal(tokenizer.Decode(ids, skipSpecialTokens: true), choice.GetProperty("text").GetString());

            var logprobs = choice.GetProperty("logprobs");
            var served = logprobs.GetProperty("token_logprobs").EnumerateArray().Select(e => e.GetSingle()).ToArray();
            var trainer = _server.TrainerLogProbs([72, 105, 33], ids, temperature);
            Assert.Equal(trainer.Length, served.Length);
            for (int t = 0; t < served.Length; t++)
                Assert.True(Math.Abs(trainer[t] - served[t]) < 1e-4, $"token {t}: served {served[t]}, trainer {trainer[t]}");
            // logprobs 0: the sampled token alone in top_logprobs.
            var top = logprobs.GetProperty("top_logprobs").EnumerateArray().ToList();
            Assert.All(top.Zip(served), pair => Assert.Equal(pair.Second, Assert.Single(pair.First.EnumerateObject()).Value.GetSingle()));
            Assert.Equal(ids.Select(id => tokenizer.Decode([id], skipSpecialTokens: false)), logprobs.GetProperty("tokens").EnumerateArray().Select(e => e.GetString()));
        }
        var usage = body.GetProperty("usage");
        Assert.Equal(3, usage.GetProperty("prompt_tokens").GetInt32());
        Assert.Equal(completionTokens, usage.GetProperty("completion_tokens").GetInt32());
        Assert.Equal(3 + completionTokens, usage.GetProperty("total_tokens").GetInt32());

        var (_, again, _) = await _server.PostAsync("/v1/completions", request);
        Assert.Equal(choices.Select(c => c.GetProperty("token_ids").ToString()),
                     again.GetProperty("choices").EnumerateArray().Select(c => c.GetProperty("token_ids").ToString()));
    }

    [Fact]
    public async Task ATextPromptListGivesNChoicesPerPromptInOrder()
    {
        var (status, body, text) = await _server.PostAsync("/v1/completions",
            """{"prompt": ["ab", "xyz"], "n": 2, "max_tokens": 3, "return_token_ids": true}""");
        Assert.True(status == HttpStatusCode.OK, text);
        var prompts = body.GetProperty("choices").EnumerateArray().Select(c => ServeTestServer.Ints(c.GetProperty("prompt_token_ids"))).ToList();
        Assert.Equal([[97, 98], [97, 98], [120, 121, 122], [120, 121, 122]], prompts);   // byte-level: the bytes' ids
        Assert.Equal(5, body.GetProperty("usage").GetProperty("prompt_tokens").GetInt32());
        Assert.Equal(JsonValueKind.Null, body.GetProperty("choices")[0].GetProperty("logprobs").ValueKind);
    }

    [Fact]
    public async Task ChatGoesThroughTheChatTemplate()
    {
        var (status, body, text) = await _server.PostAsync("/v1/chat/completions",
            """{"model": "tiny", "messages": [{"role": "user", "content": [{"type": "text", "text": "hi"}]}], "max_tokens": 4, "logprobs": true, "return_token_ids": true, "seed": 1}""");
        Assert.True(status == HttpStatusCode.OK, text);
        Assert.Equal("chat.completion", body.GetProperty("object").GetString());
        Assert.StartsWith("chatcmpl-", body.GetProperty("id").GetString());
        // ChatML written out by hand: the template's text for one user turn and the assistant's header.
        var tokenizer = HfTokenizer.FromDirectory(_server.ModelPath);
        Assert.Equal(tokenizer.Encode("<|im_start|>user\nhi<|im_end|>\n<|im_start|>assistant\n"), ServeTestServer.Ints(body.GetProperty("prompt_token_ids")));
        var choice = Assert.Single(body.GetProperty("choices").EnumerateArray());
        Assert.Equal("assistant", choice.GetProperty("message").GetProperty("role").GetString());
        var ids = ServeTestServer.Ints(choice.GetProperty("token_ids"));
        Assert.Equal(tokenizer.Decode(ids, skipSpecialTokens: true), choice.GetProperty("message").GetProperty("content").GetString());
        var served = choice.GetProperty("logprobs").GetProperty("content").EnumerateArray().Select(e => e.GetProperty("logprob").GetSingle()).ToArray();
        var trainer = _server.TrainerLogProbs(ServeTestServer.Ints(body.GetProperty("prompt_token_ids")), ids, 1.0);
        Assert.Equal(trainer.Length, served.Length);
        for (int t = 0; t < served.Length; t++) Assert.True(Math.Abs(trainer[t] - served[t]) < 1e-4);
    }
}
