// Renders every case of cases.json with the real chat templates through Hugging Face's Jinja renderer for
// JavaScript (@huggingface/jinja), an implementation independent of Grpo's formatters, into rendered.json.
// Usage: node render.mjs PATH/TO/node_modules/@huggingface/jinja   (see README.md)
import { readFileSync, writeFileSync } from "node:fs";
import { join, dirname } from "node:path";
import { fileURLToPath, pathToFileURL } from "node:url";

const here = dirname(fileURLToPath(import.meta.url));
const jinjaDir = process.argv[2];
if (!jinjaDir) throw new Error("usage: node render.mjs PATH/TO/node_modules/@huggingface/jinja");
const { Template } = await import(pathToFileURL(join(jinjaDir, "dist", "index.js")).href);

const templates = {
  "qwen2.5": { text: readFileSync(join(here, "qwen2.5-instruct.jinja"), "utf8"), bos_token: null, eos_token: "<|im_end|>" },
  qwen3: {
    text: JSON.parse(readFileSync(join(here, "..", "qwen3-tokenizer", "tokenizer_config.json"), "utf8")).chat_template,
    bos_token: null, eos_token: "<|im_end|>",
  },
  "llama3.1": { text: readFileSync(join(here, "llama3.1-instruct.jinja"), "utf8"), bos_token: "<|begin_of_text|>", eos_token: "<|eot_id|>" },
};

const cases = JSON.parse(readFileSync(join(here, "cases.json"), "utf8"));
const rendered = cases.map((c) => {
  const template = templates[c.template];
  // As transformers' apply_chat_template passes them: no "tools" variable when there are none.
  const context = { messages: c.messages, add_generation_prompt: c.add_generation_prompt, bos_token: template.bos_token, eos_token: template.eos_token };
  if (c.tools) context.tools = c.tools;
  if ("tools_in_user_message" in c) context.tools_in_user_message = c.tools_in_user_message;
  if ("date_string" in c) context.date_string = c.date_string;
  try {
    return { name: c.name, text: new Template(template.text).render(context) };
  } catch (e) {
    return { name: c.name, error: String(e.message ?? e) };
  }
});
writeFileSync(join(here, "rendered.json"), JSON.stringify(rendered, null, 1) + "\n");
console.log(`rendered ${rendered.length} cases`);
