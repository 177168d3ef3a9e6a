"""Regenerates reference.jsonl: verdicts of the original Python rewards on generated edge-case strings.

The four text rewards below are the TRL / open-r1 definitions, restated from their sources
(trl/rewards/format_rewards.py think_format_reward; open-r1 src/open_r1/rewards.py format_reward,
tag_count_reward, reasoning_steps_reward) and run by Python's own `re`, so the C# tests compare against
the engine the recipes were written for. Run: python3 make_reference.py > reference.jsonl
"""
import json
import random
import re


def think_format(text):
    return 1.0 if re.match(r"^<think>(?!.*<think>)(.*?)</think>.*$", text, re.DOTALL | re.MULTILINE) else 0.0


def strict_format(text):
    return 1.0 if re.match(r"^<think>\n.*?\n</think>\n<answer>\n.*?\n</answer>$", text, re.DOTALL | re.MULTILINE) else 0.0


def tag_count(text):
    return sum(0.25 for tag in ["<think>\n", "\n</think>\n", "\n<answer>\n", "\n</answer>"] if text.count(tag) == 1)


def reasoning_steps(text):
    count = len(re.findall(r"(Step \d+:|^\d+\.|\n-|\n\*|First,|Second,|Next,|Finally,)", text))
    return min(1.0, count / 3)


FRAGMENTS = ["<think>", "</think>", "<answer>", "</answer>", "\n", "\n", "\r\n", "a", " ", "é", "🙂", "数学",
             "<think", "think>", "</ think>", "<THINK>", "Step 1:", "Step 12:", "Step ٣:", "Step 𝟓:", "Step x:", "step 1:",
             "1.", "12.", "٣.", "𝟓.", "-", "*", "First,", "Second,", "Next,", "Finally,", "first,", "Then,"]
TEMPLATE = ["<think>", "\n", "a", "\n", "</think>", "\n", "<answer>", "\n", "a", "\n", "</answer>"]

rng = random.Random(20250509)
cases = ["", "<think></think>", "<think>\n\n</think>\n<answer>\n\n</answer>", "<think>\n</think>\n<answer>\n</answer>"]
while len(cases) < 300:
    parts = [rng.choice(FRAGMENTS) for _ in range(rng.randint(1, 12))]
    cases.append("".join(parts))
while len(cases) < 600:
    parts = list(TEMPLATE)
    for _ in range(rng.randint(0, 3)):
        if parts and rng.random() < 0.3:
            del parts[rng.randrange(len(parts))]
        else:
            parts.insert(rng.randint(0, len(parts)), rng.choice(FRAGMENTS))
    cases.append("".join(parts))

for text in cases:
    print(json.dumps({"text": text, "think_format": think_format(text), "format": strict_format(text),
                      "tag_count": tag_count(text), "reasoning_steps": reasoning_steps(text)}, ensure_ascii=False))
