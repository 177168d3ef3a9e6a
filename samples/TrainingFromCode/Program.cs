using Grpo.Data;
using Grpo.Lora;
using Grpo.Modeling;
using Grpo.Rewards.Math;
using Grpo.Tokenization;
using Grpo.Training;

// dotnet run -c Release --project samples/TrainingFromCode -- MODEL_FOLDER TRAIN.jsonl [STEPS]
var folder = args[0];                                                        // as save_pretrained writes it
var model = Checkpoint.Load(folder);
var tokenizer = HfTokenizer.FromDirectory(folder);
var lora = LoraModel.Apply(model, new LoraOptions { Rank = 16, Alpha = 32 }, folder);
var options = new GrpoOptions { NumGenerations = 8, PromptsPerStep = 4, MaxCompletionLength = 160, LearningRate = 1e-5,
                                MaxSteps = args.Length > 2 ? int.Parse(args[2]) : 200, Beta = 0.04, OutputDir = "runs/gsm8k" };
using var trainer = new GrpoTrainer(model, tokenizer, [new MathAnswerReward()], options, lora,
                                    eosTokenIds: EosTokens.FromDirectory(folder, tokenizer).ToList())
{
    ChatFormat = ChatFormats.FromTokenizerConfig(TokenizerConfig.FromDirectory(folder)),
    SystemPrompt = "Think step by step, then give the final answer after ####.",
};
var progress = new Progress<GrpoStepMetrics>(m => Console.WriteLine($"step {m.Step}: reward {m.Reward:0.00} kl {m.Kl:0.000}"));
await trainer.TrainAsync(JsonlDataset.Load(args[1]), progress);   // GSM8K rows: "question", "answer"; checkpoints in runs/gsm8k
lora.Save("runs/gsm8k/adapter");                                    // PEFT layout: loads in PEFT and vLLM
