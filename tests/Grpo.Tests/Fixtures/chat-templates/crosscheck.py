# Renders cases.json with Python's jinja2 set up as transformers' apply_chat_template sets it up (sandbox,
# trim_blocks, lstrip_blocks, loopcontrols, tojson = json.dumps(ensure_ascii=False)) and checks that every case
# gives the same text (or the same template error) as rendered.json, written by @huggingface/jinja.
# Usage: python3 crosscheck.py   (needs jinja2 >= 3.1)
import json, os, sys
from jinja2.ext import loopcontrols
from jinja2.sandbox import ImmutableSandboxedEnvironment

here = os.path.dirname(os.path.abspath(__file__))
def read(name): return open(os.path.join(here, name), encoding="utf-8").read()

def tojson(x, ensure_ascii=False, indent=None, separators=None, sort_keys=False):
    return json.dumps(x, ensure_ascii=ensure_ascii, indent=indent, separators=separators, sort_keys=sort_keys)
def raise_exception(message): raise Exception(message)
env = ImmutableSandboxedEnvironment(trim_blocks=True, lstrip_blocks=True, extensions=[loopcontrols])
env.filters["tojson"] = tojson
env.globals["raise_exception"] = raise_exception

templates = {
    "qwen2.5": (read("qwen2.5-instruct.jinja"), None),
    "qwen3": (json.loads(read("../qwen3-tokenizer/tokenizer_config.json"))["chat_template"], None),
    "llama3.1": (read("llama3.1-instruct.jinja"), "<|begin_of_text|>"),
}
expected = {r["name"]: r for r in json.loads(read("rendered.json"))}
failures = 0
for case in json.loads(read("cases.json")):
    text, bos = templates[case["template"]]
    context = {"messages": case["messages"], "add_generation_prompt": case["add_generation_prompt"], "bos_token": bos}
    context.update({k: case[k] for k in ("tools", "tools_in_user_message", "date_string") if k in case})
    try:
        same = env.from_string(text).render(**context) == expected[case["name"]].get("text")
    except Exception as e:
        same = str(e) == expected[case["name"]].get("error")
    failures += not same
    print(("same   " if same else "DIFFERS"), case["name"])
sys.exit(1 if failures else 0)
